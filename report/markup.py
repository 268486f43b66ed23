"""Report text with code spans, escaped once per output format.

Table cells, captions and footnotes are built as plain strings in which a code span is marked by two
private-use characters (``code(x)``), never by a Markdown backtick, so a value that happens to hold a
backtick, ``|``, ``<`` or ``\\`` (a backbone, a stand-in caption, a submitter's model name) cannot
open a span or a tag in any format. Each format renders the same string with its own escaping:
``md``, ``html``, ``tex`` and ``plain`` (CSV). Control characters (terminal escapes, newlines, bidi
overrides) are shown as visible ``\\uXXXX`` escapes in every format, so no value can rewrite a line
or a terminal.
"""

from __future__ import annotations

import html as _html
import re

OPEN, CLOSE = "\ue000", "\ue001"
_BIDI = set(range(0x200E, 0x2010)) | set(range(0x202A, 0x202F)) | set(range(0x2066, 0x206A))


def _is_control(ch: str) -> bool:
    o = ord(ch)
    return o < 0x20 or 0x7F <= o < 0xA0 or o in _BIDI or o in (0x2028, 0x2029)


def visible(s: str) -> str:
    """Control characters as visible ``\\uXXXX`` escapes (the markers are kept)."""
    return "".join(f"\\u{ord(c):04x}" if _is_control(c) else c for c in s)


def value(s: object) -> str:
    """An untrusted value as report text: no span markers, control characters made visible."""
    return visible(str(s).replace(OPEN, "").replace(CLOSE, ""))


def code(s: object) -> str:
    """A value shown as code (``profile``, a command, a backbone name)."""
    return OPEN + value(s) + CLOSE


def from_backticks(s: str) -> str:
    """Trusted template text (a spec's description) whose Markdown-style `spans` become code spans."""
    return re.sub(r"`([^`]*)`", lambda m: code(m.group(1)), value(s))


def segments(s: str) -> list[tuple[bool, str]]:
    """``(is_code, text)`` pieces of a report string."""
    out: list[tuple[bool, str]] = []
    for i, part in enumerate(re.split(f"[{OPEN}{CLOSE}]", s)):
        if part:
            out.append((i % 2 == 1, part))
    return out


_MD_SPECIAL = re.compile(r"([\\`*_<>|&~])")
_MD_LINK = re.compile(r"(?<=\])([(\[:])|(!)(?=\[)")  # "](", "][", "]:" (links) and "![" (images)


def md(s: str, in_table: bool = False) -> str:
    """Markdown (CommonMark + GFM tables): inline syntax characters backslash-escaped (brackets only
    where they would make a link or an image, so ``[a]`` footnote marks stay readable), code spans in a
    fence longer than any backtick run they hold."""
    out = []
    for is_code, text in segments(visible(s)):
        if not is_code:
            out.append(_MD_LINK.sub(lambda m: "\\" + (m.group(1) or m.group(2)), _MD_SPECIAL.sub(r"\\\1", text)))
            continue
        if in_table:
            text = text.replace("|", "\\|")  # GFM splits cells on | even inside code spans
        fence = "`" * (max((len(r) for r in re.findall("`+", text)), default=0) + 1)
        pad = " " if text.startswith("`") or text.endswith("`") else ""
        out.append(f"{fence}{pad}{text}{pad}{fence}")
    return "".join(out)


def html(s: str) -> str:
    return "".join(f"<code>{_html.escape(t)}</code>" if c else _html.escape(t) for c, t in segments(visible(s)))


_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
        "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "±": r"$\pm$", "Δ": r"$\Delta$",
        "−": "--", "—": "--", "·": r"$\cdot$", "≥": r"$\geq$", "†": r"\dag{}", "<": r"\textless{}", ">": r"\textgreater{}",
        "|": r"\textbar{}", "`": r"\textasciigrave{}", '"': "''"}


def tex_escape(s: str) -> str:
    return "".join(_TEX.get(ch, ch) for ch in s)


def tex(s: str) -> str:
    return "".join(r"\texttt{" + tex_escape(t) + "}" if c else tex_escape(t) for c, t in segments(visible(s)))


def plain(s: str) -> str:
    """CSV text: markers dropped, control characters visible, and a leading ``=``/``@`` (a spreadsheet
    formula) quoted with ``'``; the csv module does the field quoting."""
    text = "".join(t for _, t in segments(visible(s)))
    return "'" + text if text[:1] in ("=", "@") else text


__all__ = ["code", "from_backticks", "html", "md", "plain", "segments", "tex", "tex_escape", "value", "visible"]
