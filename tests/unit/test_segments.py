"""A segment filter is checked when the program file is read: only allowlisted fields,
values of the field's type, and comparisons that make sense for it."""

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from referral.segments import FIELDS, Condition, Op


def test_a_condition_defaults_to_equality():
    condition = Condition(field="segment", value="vip")
    assert (condition.op, condition.value) == (Op.EQ, "vip")


def test_an_unknown_field_is_refused_and_the_allowlist_named():
    with pytest.raises(ValidationError) as error:
        Condition(field="email", value="a@example.com")
    message = str(error.value)
    assert "unknown field 'email'" in message
    assert all(name in message for name in FIELDS)


def test_a_column_name_with_sql_in_it_is_just_an_unknown_field():
    with pytest.raises(ValidationError, match="unknown field"):
        Condition(field="segment; DROP TABLE customers", value="vip")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("nps_score", "9"),  # text is not a number, even when it looks like one
        ("nps_score", True),  # a bool is not a number either
        ("orders_count", 2.5),
        ("segment", 3),
        ("consent_email", 1),
        ("consent_email", "true"),
        ("customer_since", 20260101),
    ],
)
def test_a_value_of_the_wrong_type_is_refused(field, value):
    with pytest.raises(ValidationError, match=f"{field} needs a"):
        Condition(field=field, value=value)


@pytest.mark.parametrize("op", ["gt", "gte", "lt", "lte"])
@pytest.mark.parametrize(("field", "value"), [("segment", "vip"), ("consent_sms", True)])
def test_ordered_comparisons_are_refused_on_text_and_flags(op, field, value):
    with pytest.raises(ValidationError, match="cannot be compared"):
        Condition(field=field, op=op, value=value)


def test_ordered_comparisons_work_on_numbers_and_times():
    assert Condition(field="nps_score", op="gte", value=9).value == 9
    since = Condition(field="customer_since", op="lt", value="2025-01-01T00:00:00+00:00")
    assert since.value == datetime(2025, 1, 1, tzinfo=UTC)


def test_a_time_needs_a_time_zone():
    with pytest.raises(ValidationError, match="time zone"):
        Condition(field="last_order_at", op="gt", value="2025-01-01T00:00:00")


def test_in_and_not_in_need_a_non_empty_list_of_typed_values():
    assert Condition(field="tier", op="in", value=["gold", "silver"]).value == ["gold", "silver"]
    for bad in ([], "gold", None):
        with pytest.raises(ValidationError, match="non-empty list"):
            Condition(field="tier", op="not_in", value=bad)
    with pytest.raises(ValidationError, match="needs a int"):
        Condition(field="nps_score", op="in", value=[9, "10"])


def test_null_checks_take_no_value():
    assert Condition(field="nps_score", op="is_null").value is None
    with pytest.raises(ValidationError, match="takes no value"):
        Condition(field="nps_score", op="not_null", value=5)


def test_unknown_operators_and_keys_are_refused():
    with pytest.raises(ValidationError):
        Condition(field="segment", op="like", value="v%")
    with pytest.raises(ValidationError):
        Condition(field="segment", value="vip", sql="1=1")
