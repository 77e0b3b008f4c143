"""Report formulas over plain rows: funnel, revenue and cost, cohorts, timing, leaderboards,
trends. The database layer aggregates in SQL and hands these functions small rows; nothing
here reads a clock, a file or a database."""
