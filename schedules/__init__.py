"""APScheduler wiring and the jobs it runs. Jobs take plain arguments (a session factory, ids) and
work through models/; every durable fact stays in the database, so a restart loses nothing."""
