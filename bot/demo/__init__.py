"""`grassroots demo`: the whole service on one machine without a WeChat account — a SQLite file, the
seeded demo roster, the WeChat emulator, and a phone-sized chat page where a visitor picks a persona."""
