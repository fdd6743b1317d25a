"""Parses the function prototypes of include/ov3d.h (a small C99 subset: the project's own style).

Used by check_exports.py and by the Python binding tests. Not a general C parser: it relies on
the header's conventions (one declaration per statement, no function-pointer parameters except
through typedefs, comments in /* */ or //).
"""
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEADER = ROOT / "include" / "ov3d.h"


@dataclass
class Param:
    type: str
    name: str

    @property
    def is_pointer(self):
        return "*" in self.type


@dataclass
class Function:
    name: str
    ret: str
    params: list


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def typedef_names(text):
    """Names of struct typedefs and function-pointer typedefs declared in the header."""
    structs = set(re.findall(r"typedef\s+struct\s+\w+\s*\{.*?\}\s*(\w+)\s*;", text, flags=re.S))
    opaque = set(re.findall(r"typedef\s+struct\s+\w+\s+(\w+)\s*;", text))
    enums = set(re.findall(r"typedef\s+enum\s+\w+\s*\{.*?\}\s*(\w+)\s*;", text, flags=re.S))
    callbacks = set(re.findall(r"typedef\s+[^;]*?\(\s*\*\s*(\w+)\s*\)\s*\(", text))
    return structs, opaque, enums, callbacks


def parse(path=HEADER):
    text = strip_comments(Path(path).read_text())
    # drop preprocessor lines, typedefs, and static inline bodies
    text = re.sub(r"^\s*#.*$", " ", text, flags=re.M)
    text = re.sub(r"typedef[^;{]*\{.*?\}\s*\w+\s*;", " ", text, flags=re.S)
    text = re.sub(r"typedef[^;]*;", " ", text)
    text = re.sub(r'extern\s+"C"\s*\{', " ", text)
    funcs = []
    for m in re.finditer(r"([A-Za-z_][\w\s\*]*?)\b(ov3d_\w+)\s*\(([^;{}]*?)\)\s*;", text):
        ret = " ".join(m.group(1).split())
        name = m.group(2)
        raw = " ".join(m.group(3).split())
        params = []
        if raw and raw != "void":
            for i, p in enumerate(raw.split(",")):
                p = p.strip()
                mm = re.match(r"(.*?)(\w+)$", p)
                if not mm or mm.group(1).strip() == "":
                    params.append(Param(p, f"arg{i}"))
                else:
                    params.append(Param(" ".join(mm.group(1).split()), mm.group(2)))
        funcs.append(Function(name, ret, params))
    return funcs


if __name__ == "__main__":
    for f in parse():
        print(f.ret, f.name, [(p.type, p.name) for p in f.params])
