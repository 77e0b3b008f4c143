"""The drop-folder connector reads customers CSVs and events JSONL in file name order, a
bounded batch at a time, and its cursor (`<file>:<position>`) resumes exactly where the
last applied batch ended: after a crash, in the middle of a file, or at a new file."""

import pytest

from integrations.crm.base import CrmReadError
from integrations.crm.files import Cursor, FileCrm
from tests.integrations.drop import customers_csv, events_jsonl, purchase


def ids(batches):
    """What the batches carry, in order: customers' external ids and events' ids."""
    return [
        item.external_id if hasattr(item, "external_id") else item.id
        for batch in batches
        for item in [*batch.records, *batch.events]
    ]


@pytest.fixture
def drop(tmp_path):
    customers_csv(tmp_path, "2026-11-01-customers.csv", count=7)
    events_jsonl(tmp_path, "2026-11-02-events.jsonl", [purchase(i) for i in range(5)])
    return tmp_path


def test_files_are_read_in_name_order_in_bounded_batches(drop):
    batches = list(FileCrm(drop, batch_size=3).pull(None))
    assert [b.cursor for b in batches] == [
        "2026-11-01-customers.csv:3",
        "2026-11-01-customers.csv:6",
        "2026-11-01-customers.csv:7",
        "2026-11-02-events.jsonl:3",
        "2026-11-02-events.jsonl:5",
    ]
    assert [len(b) for b in batches] == [3, 3, 1, 3, 2]
    assert all(not b.events for b in batches[:3]) and all(not b.records for b in batches[3:])
    assert batches[3].events[0].amount_minor == 3000


def test_a_pull_from_any_cursor_yields_exactly_what_follows_it(drop):
    connector = FileCrm(drop, batch_size=3)
    everything = ids(connector.pull(None))
    for n, batch in enumerate(list(connector.pull(None))):
        done = ids(list(connector.pull(None))[: n + 1])
        assert done + ids(connector.pull(batch.cursor)) == everything


def test_the_last_cursor_yields_nothing_until_something_new_arrives(drop):
    connector = FileCrm(drop, batch_size=100)
    last = list(connector.pull(None))[-1].cursor
    assert list(connector.pull(last)) == []

    events_jsonl(drop, "2026-11-02-events.jsonl", [purchase(5)], mode="a")  # appended
    customers_csv(drop, "2026-11-03-customers.csv", start=7, count=2)  # a new file
    new = list(connector.pull(last))
    assert ids(new) == ["evt-5", "C0000008", "C0000009"]
    assert [b.cursor for b in new] == ["2026-11-02-events.jsonl:6", "2026-11-03-customers.csv:2"]


def test_files_sorting_before_the_cursor_are_taken_as_done(drop):
    events_jsonl(drop, "2026-10-31-late.jsonl", [purchase(99)])
    assert "evt-99" not in ids(FileCrm(drop).pull("2026-11-01-customers.csv:0"))
    # ... and a processed file may be archived: the cursor needs only its name.
    (drop / "2026-11-01-customers.csv").unlink()
    assert ids(FileCrm(drop).pull("2026-11-01-customers.csv:7")) == [f"evt-{i}" for i in range(5)]


def test_only_finished_csv_and_jsonl_files_are_read(drop):
    events_jsonl(drop, "2026-11-09-events.jsonl.part", [purchase(50)])
    events_jsonl(drop, ".2026-11-09-events.jsonl", [purchase(51)])
    events_jsonl(drop, "README.txt", ["not an event"])
    (drop / "2026-11-10-customers.csv").touch()  # created, not written yet
    assert len(ids(FileCrm(drop).pull(None))) == 12


def test_blank_lines_count_towards_the_position(tmp_path):
    events_jsonl(tmp_path, "e.jsonl", [purchase(1), "", "   ", purchase(2), ""])
    (batch,) = FileCrm(tmp_path).pull(None)
    assert (ids([batch]), batch.cursor) == (["evt-1", "evt-2"], "e.jsonl:5")
    assert list(FileCrm(tmp_path).pull("e.jsonl:5")) == []
    assert ids(FileCrm(tmp_path).pull("e.jsonl:1")) == ["evt-2"]


def test_a_malformed_event_line_names_file_and_line_but_not_its_content(tmp_path):
    secret = "ada.lovelace@example.com"
    bad = purchase(2, type="purchase", amount=None)
    bad["customer"]["email"] = secret
    events_jsonl(tmp_path, "e.jsonl", [purchase(1), bad, purchase(3)])
    batches = FileCrm(tmp_path).pull(None)
    with pytest.raises(CrmReadError, match=r"^e\.jsonl, line 2: not a valid event") as error:
        list(batches)
    assert "fields its type requires" in str(error.value)
    # Nothing chained either: pydantic's own error would quote the line.
    assert secret not in str(error.value) and error.value.__context__ is None


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"id": "x", "type": "purchase"', "not a JSON object"),
        ('{"id": "x", "type": "wire", "occurred_at": "2026-11-01T12:00:00Z", '
         '"customer": {"external_id": "C1"}}', "type: literal_error"),
        ('{"id": "x", "type": "signup", "occurred_at": "2026-11-01T12:00:00", '
         '"customer": {"external_id": "C1"}}', "occurred_at: timezone_aware"),
        ('{"id": "x", "type": "signup", "customer": {}}', "occurred_at: missing"),
    ],
)  # fmt: skip
def test_event_problems_are_named_by_field(tmp_path, line, problem):
    events_jsonl(tmp_path, "e.jsonl", [line])
    with pytest.raises(CrmReadError, match="line 1") as error:
        list(FileCrm(tmp_path).pull(None))
    assert problem in str(error.value)


def test_a_malformed_customer_row_names_file_and_line_but_not_its_content(tmp_path):
    path = customers_csv(tmp_path, "c.csv", count=5)
    lines = path.read_text().splitlines()
    cells = lines[3].split(",")
    cells[lines[0].split(",").index("orders_count")] = "many"
    lines[3] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    batches = FileCrm(tmp_path, batch_size=2).pull(None)
    assert len(next(batches)) == 2  # lines 2 and 3 are fine
    with pytest.raises(CrmReadError, match=r"^c\.csv, line 4: not a customer record") as error:
        next(batches)
    assert "many" not in str(error.value) and cells[1] not in str(error.value)


def test_a_csv_with_another_header_or_naive_times_is_refused(tmp_path):
    (tmp_path / "a.csv").write_text("id,email\n1,a@example.com\n")
    with pytest.raises(CrmReadError, match=r"^a\.csv, line 1: not the header"):
        list(FileCrm(tmp_path).pull(None))
    (tmp_path / "a.csv").unlink()
    path = customers_csv(tmp_path, "b.csv", count=1)
    path.write_text(path.read_text().replace("+00:00", ""))
    with pytest.raises(CrmReadError, match=r"^b\.csv, line 2: customer_since has no UTC offset"):
        list(FileCrm(tmp_path).pull(None))


def test_a_missing_folder_or_a_foreign_cursor_is_a_clear_error(tmp_path):
    with pytest.raises(CrmReadError, match="does not exist"):
        list(FileCrm(tmp_path / "nowhere").pull(None))
    with pytest.raises(CrmReadError, match="not <file name>:<position>"):
        list(FileCrm(tmp_path).pull("2026-11-01T00:00:00Z"))


def test_cursors_round_trip_even_with_colons_in_the_name():
    cursor = Cursor.parse("2026-11-01T01:00-customers.csv:12")
    assert cursor == Cursor("2026-11-01T01:00-customers.csv", 12)
    assert str(cursor) == "2026-11-01T01:00-customers.csv:12"


def test_the_lines_before_a_bad_one_are_handed_over_first(tmp_path):
    events_jsonl(tmp_path, "e.jsonl", [purchase(1), purchase(2), "{", purchase(3)])
    batches = FileCrm(tmp_path).pull(None)
    first = next(batches)
    assert (ids([first]), first.cursor) == (["evt-1", "evt-2"], "e.jsonl:2")
    with pytest.raises(CrmReadError, match="line 3"):
        next(batches)


def test_a_file_shorter_than_the_cursor_was_replaced_and_is_refused(drop):
    events_jsonl(drop, "2026-11-02-events.jsonl", [purchase(7)])  # rewritten, one line
    with pytest.raises(CrmReadError, match="has 1 records but the cursor is at 5"):
        list(FileCrm(drop).pull("2026-11-02-events.jsonl:5"))
    customers_csv(drop, "2026-11-01-customers.csv", count=2)
    with pytest.raises(CrmReadError, match="has 2 records but the cursor is at 7"):
        list(FileCrm(drop).pull("2026-11-01-customers.csv:7"))
