"""Invite codes: what a member sends as "绑定 <code>" on the Official Account to link their WeChat."""

import secrets

# No 0/O, 1/I: the code is read off paper or a chat message and typed in by hand.
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
LENGTH = 6


def new_invite_codes(count: int, *, taken: set[str]) -> list[str]:
    """Unique codes not in `taken`; `taken` grows with them."""
    codes: list[str] = []
    while len(codes) < count:
        code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        if code not in taken:
            taken.add(code)
            codes.append(code)
    return codes
