"""SQLModel tables, sessions, queries, rollups and migrations: the only package that speaks SQL.

Other packages call the functions here; none of them builds a query itself."""
