"""The hostile corpus: values by class, as query strings, paths, headers, JSON and CSV send them.

A value is its bytes (UTF-8, lone surrogates passed through as a server would receive them,
invalid UTF-8 where that is the point) and, for bodies, the raw JSON fragment to splice in:
`1e1000000` must reach the server as a JSON number, not as what Python makes of it.
"""

import base64
import json
from dataclasses import dataclass


@dataclass(frozen=True)
class Value:
    cls: str
    name: str
    raw: bytes  # in a query string, path or header; as a CSV cell
    fragment: bytes  # in a JSON body

    def __repr__(self) -> str:
        shown = (
            self.raw if len(self.raw) <= 60 else self.raw[:40] + b"...(%d bytes)" % len(self.raw)
        )
        return f"{self.cls}:{shown!r}"


def _text(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _value(cls: str, text, fragment: bytes | None = None, name: str | None = None) -> Value:
    raw = text if isinstance(text, bytes) else _text(text)
    if fragment is None:
        # A JSON string, non-ASCII escaped: "\ud800" arrives as the escape, as JSON allows.
        fragment = json.dumps(raw.decode("utf-8", "surrogatepass")).encode()
    return Value(cls, name or repr(text)[:40], raw, fragment)


def _number(literal: str) -> list[Value]:
    """A number as a JSON number, and as the string a form or a query carries."""
    return [
        _value("number", literal, literal.encode(), name=literal[:30]),
        _value("number", literal, name=f'"{literal[:30]}"'),
    ]


def _cursor(state) -> str:
    text = state if isinstance(state, bytes) else json.dumps(state).encode()
    return base64.urlsafe_b64encode(text).decode().rstrip("=")


DIGITS = "9" * 5000
DEEP_ARRAY = "[" * 3000 + "]" * 3000
DEEP_OBJECT = '{"a":' * 3000 + "1" + "}" * 3000
# Within what the JSON parser reads, yet deeper than code that recurses per level can follow.
HALF_DEEP = "[" * 600 + '"x"' + "]" * 600

CORPUS: dict[str, list[Value]] = {
    "number": [
        *_number("1e1000000"),
        *_number("-1e1000000"),
        *_number("1e-1000000"),
        *_number(DIGITS),
        *_number("-" + DIGITS),
        *_number("9223372036854775808"),
        *_number("-9223372036854775809"),
        *_number("2147483648"),
        *_number("1.7976931348623157e309"),
        *_number("4.9e-325"),
        *_number("0.0000000001"),
        *_number("123456789012345678901234567890.5"),
    ],
    "special": [
        _value("special", "NaN", b"NaN"),
        _value("special", "Infinity", b"Infinity"),
        _value("special", "-Infinity", b"-Infinity"),
        _value("special", "NaN"),
        _value("special", "-0", b"-0"),
        _value("special", "-0.0", b"-0.0"),
        _value("special", "-0"),
        _value("special", "0x10"),
        _value("special", "1_000"),
        _value("special", " 1"),
        _value("special", "+1"),
        _value("special", "1."),
        _value("special", ".5"),
        _value("special", "0"),
        _value("special", "-1", b"-1"),
    ],
    "nul": [
        _value("nul", "a\x00b"),
        _value("nul", "\x00"),
        _value("nul", "%00"),
    ],
    "surrogate": [
        _value("surrogate", "\ud800"),  # a query sends %ED%A0%80; JSON the escape "\ud800"
        _value("surrogate", "a\udfffb"),
        # The raw bytes of a lone surrogate inside a JSON string: not UTF-8 at all.
        _value("surrogate", "\ud800", b'"\xed\xa0\x80"', name="raw \\ud800"),
        _value("surrogate", b"\xff\xfe", b'"\xff\xfe"', name="invalid UTF-8"),
        _value("surrogate", "\ud83d\ude00"),  # a pair, written as two surrogates
    ],
    "invisible": [
        _value("invisible", ""),
        _value("invisible", " "),
        _value("invisible", "\u200b"),
        _value("invisible", "\u200b\u200c\u200d\ufeff"),
        _value("invisible", "\u202eabc"),
        _value("invisible", "\u200fabc\u2066"),
        _value("invisible", "\t"),
        _value("invisible", "e\u0301\u0301\u0301"),
        _value("invisible", "\x1b[31m\x07\x7f"),
    ],
    "long": [
        _value("long", "a" * 100_000, name="a x 100000"),
        _value("long", "é" * 100_000, name="é x 100000"),
        _value("long", "1" * 100_000, name="1 x 100000"),
    ],
    "nesting": [
        _value("nesting", DEEP_ARRAY, DEEP_ARRAY.encode(), name="[ x 3000"),
        _value("nesting", DEEP_OBJECT, DEEP_OBJECT.encode(), name="{ x 3000"),
        _value("nesting", "[" * 3000, name='"[ x 3000"'),
        _value("nesting", HALF_DEEP, HALF_DEEP.encode(), name="[ x 600"),
    ],
    "type": [
        _value("type", "true", b"true"),
        _value("type", "null", b"null"),
        _value("type", "[]", b"[]"),
        _value("type", "{}", b"{}"),
        _value("type", "[1]", b"[1]"),
        _value("type", '{"a":1}', b'{"a":1}'),
        _value("type", "1.5", b"1.5"),
        _value("type", "1", b"1"),
        _value("type", "false"),
        _value("type", "x"),
    ],
    "mathtext": [
        _value("mathtext", "$\\frac{$"),
        _value("mathtext", "$\\foo{$"),
        _value("mathtext", "from $4bn to $5bn"),
        _value("mathtext", "$x^{$ and _{"),
        _value("mathtext", "<svg onload=alert(1)>&amp;"),
    ],
    "formula": [
        _value("formula", "=cmd|' /C calc'!A0"),
        _value("formula", "+1+1"),
        _value("formula", "-1+cmd"),
        _value("formula", "@SUM(A1:A2)"),
        _value("formula", "\t=1"),
        _value("formula", "\r=1"),
    ],
    "crlf": [
        _value("crlf", "a\r\nb"),
        _value("crlf", "\r\n"),
        _value("crlf", "a\nGET /v1/statistics 200"),
        _value("crlf", "a\r\nX-Injected: 1"),
        _value("crlf", "\u2028\u2029\x85"),
    ],
    "sql": [
        _value("sql", "' OR 1=1 --"),
        _value("sql", "'; DROP TABLE statistic; --"),
        _value("sql", '"a" NEAR b'),
        _value("sql", "*"),
        _value("sql", "a*"),
        _value("sql", '"'),
        _value("sql", "'"),
        _value("sql", "\\"),
        _value("sql", "a OR b NOT c AND"),
        _value("sql", "NEAR(a b, 5)"),
        _value("sql", "a & b | !c <-> d:*"),
        _value("sql", "((("),
        _value("sql", "^a -b +c"),
        _value("sql", "%_%"),
        _value("sql", "title:x"),
        _value("sql", "{a}"),
    ],
    "digits": [
        _value("digits", "١"),
        _value("digits", "٣٫٥"),
        _value("digits", "２０２５"),
        _value("digits", "２０２５-Ｑ１"),
        _value("digits", "２０２５-０１-０１"),
        _value("digits", "٢٠٢٥-٠١-٠١T٠٠:٠٠:٠٠Z"),
        _value("digits", "¹²³"),
        _value("digits", "Ⅻ"),
        _value("digits", "১২৩"),
    ],
    "date": [
        _value("date", "2025-02-30"),
        _value("date", "0000-01-01"),
        _value("date", "0001-01-01"),
        _value("date", "9999-12-31"),
        _value("date", "10000-01-01"),
        _value("date", "-2025-01-01"),
        _value("date", "2025-13"),
        _value("date", "2025-Q5"),
        _value("date", "2025-H0"),
        _value("date", "2025-01-01/2024-01-01"),
        _value("date", "0001-01-01/9999-12-31"),
        _value("date", "2025-01-01T00:00:00"),
        _value("date", "2025-01-01T25:00:00Z"),
        _value("date", "2025-01-01T00:00:00+99:00"),
        _value("date", "0001-01-01T00:00:00+14:00"),
        _value("date", "9999-12-31T23:59:59-14:00"),
        _value("date", "2025-01-01T00:00:00.9999999999Z"),
        _value("date", "1e1000000-01-01"),
        _value("date", "99999999999999999999"),
    ],
    "cursor": [
        _value("cursor", _cursor({"keys": ["region", "id"], "values": ["\ud800", 9]})),
        _value("cursor", _cursor(b'{"keys": ["id"], "values": ["\\ud800"]}')),
        _value("cursor", _cursor({"keys": ["id"], "values": [10**30]})),
        _value("cursor", _cursor(b'{"keys": ["id"], "values": [1e1000000]}')),
        _value("cursor", _cursor(b'{"keys": ["id"], "values": [NaN]}')),
        _value("cursor", _cursor(b'{"keys": ["id"], "values": [' + DIGITS.encode() + b"]}")),
        _value("cursor", _cursor({"keys": ["id"], "values": [[1], {"a": 1}]})),
        _value("cursor", _cursor({"keys": ["id"], "values": "1"})),
        _value("cursor", _cursor({"keys": [["id"]], "values": [1]})),
        _value("cursor", _cursor({"keys": "id", "values": [None]})),
        _value("cursor", _cursor([1, 2])),
        _value("cursor", _cursor(b"\xff\xfe")),
        _value("cursor", _cursor(DEEP_ARRAY.encode())),
        _value("cursor", _cursor(b"r" + DIGITS.encode())),
        _value("cursor", _cursor(b"r-1")),
        _value("cursor", _cursor("r١".encode())),
        _value("cursor", "!!!not base64"),
        _value("cursor", "a"),
    ],
    "url": [
        _value("url", "javascript:alert(1)"),
        _value("url", "http://"),
        _value("url", "http://[::1"),
        _value("url", "https://exa mple.org/"),
        _value("url", "file:///etc/passwd"),
        _value("url", "https://例え.jp/\ud800"),
        _value("url", "https://example.org/" + "a" * 3000),
    ],
}

# Which classes a slot of each kind meets in full (every other class, once).
MATCHED = {
    # Stored text: what storage, CSV and charts may choke on.
    "text": ("nul", "surrogate", "invisible", "long", "mathtext", "formula", "crlf"),
    # Text a query matches against: what SQL, full-text search and number parsing may.
    "filter": ("nul", "surrogate", "invisible", "long", "sql", "digits"),
    "code": ("nul", "surrogate", "invisible", "digits"),
    "number": ("number", "special", "digits"),
    "date": ("date", "digits"),
    "url": ("url", "nul", "surrogate", "crlf"),
    "cursor": ("cursor",),
    "array": ("nesting", "type"),
    "boolean": ("type", "special"),
    "header": ("nul", "surrogate", "invisible", "crlf", "long"),
}
CLASSES = list(CORPUS)


def representative(cls: str, turn: int) -> Value:
    """One value of a class, a different one for each slot, so every value is used."""
    values = CORPUS[cls]
    return values[turn % len(values)]


def pairing(kind: str, turn: int, in_body: bool) -> list[Value]:
    """The values a slot of this kind meets: every class once, and its own classes in full.

    Outside a body a value is only its bytes: a number and the same number as a string are
    one request there, not two.
    """
    chosen = representatives(turn)
    for cls in MATCHED[kind]:
        chosen += CORPUS[cls]
    unique = {(value.raw, value.fragment if in_body else b""): value for value in chosen}
    return list(unique.values())


def representatives(turn: int) -> list[Value]:
    """One value of every class."""
    return [representative(cls, turn) for cls in CLASSES]


def sample(turn: int, size: int = 2) -> list[Value]:
    """A few values for the other keys, the classes taking turns from slot to slot."""
    return [representative(CLASSES[(turn * size + i) % len(CLASSES)], turn) for i in range(size)]
