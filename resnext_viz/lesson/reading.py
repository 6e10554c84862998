"""Reading a learner's typed answer: whole numbers, lists, channel ranges, yes / no (ValueError with a sentence)."""

from __future__ import annotations

import re


def read_int(text: str) -> int:
    """Return the whole number typed ('73,728', '73 728' and '73728' alike); ValueError otherwise."""
    cleaned = re.sub(r"[\s,_'\u202f\u2009]", "", str(text))
    if not re.fullmatch(r"[+-]?\d+", cleaned):
        raise ValueError("type one whole number, e.g. 2304 or 2,304")
    return int(cleaned)


def read_ints(text: str) -> list[int]:
    """Return every whole number in a list like '1, 2, 4' or '(1, 128, 28, 28)'; ValueError if none or a fraction."""
    if re.search(r"\d[.]\d", str(text)):
        raise ValueError("type whole numbers only")
    found = [int(x) for x in re.findall(r"\d+", str(text))]
    if not found:
        raise ValueError("type whole numbers separated by commas")
    return found


def read_channels(text: str) -> set[int]:
    """Return the channels of '4-7', '4–7', '4..7' or '4, 5, 6, 7' (ranges inclusive)."""
    out: set[int] = set()
    for part in re.split(r"[,;]", str(text)):
        part = part.strip()
        if not part:
            continue
        m = re.fullmatch(r"(\d+)\s*(?:-|–|—|\.\.|to)\s*(\d+)", part)
        if m:
            a, b = int(m.group(1)), int(m.group(2))
            if b < a or b - a > 100_000:
                raise ValueError(f"'{part}' is not a range from a lower to a higher channel")
            out.update(range(a, b + 1))
        elif part.isdigit():
            out.add(int(part))
        else:
            raise ValueError(f"'{part}' is neither a channel nor a range like 4–7")
    if not out:
        raise ValueError("type the channels, e.g. 4–7 or 4, 5, 6, 7")
    return out


def read_yes_no(text: str) -> str:
    """Return 'yes' or 'no'."""
    t = str(text).strip().lower()
    if t in ("yes", "y", "faster", "true"):
        return "yes"
    if t in ("no", "n", "slower", "false"):
        return "no"
    raise ValueError("answer yes or no")


def span(channels: list[int]) -> str:
    """Return '4–7' for a contiguous run, else the list."""
    if channels and channels == list(range(channels[0], channels[-1] + 1)):
        return f"{channels[0]}–{channels[-1]}"
    return ", ".join(map(str, channels))
