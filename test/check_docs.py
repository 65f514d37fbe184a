"""Every exported function has a doc comment in the public headers.

Reads Doxygen's XML output of include/ (the `make docs` configuration) and
the list of exported symbols (test/exported_symbols.txt): a function whose
brief and detailed descriptions are both empty, or that no header declares,
fails the check, named with its header and line.

    python3 test/check_docs.py XML_DIR test/exported_symbols.txt
"""
import os
import sys
import xml.etree.ElementTree as ET


def text_of(element):
    return "".join(element.itertext()).strip() if element is not None else ""


def documented_functions(xml_dir):
    """{name: (documented, "header:line")} of the functions Doxygen found."""
    found = {}
    for entry in sorted(os.listdir(xml_dir)):
        if not entry.endswith("_8h.xml"):
            continue
        for member in ET.parse(os.path.join(xml_dir, entry)).iter("memberdef"):
            if member.get("kind") != "function":
                continue
            name = text_of(member.find("name"))
            where = member.find("location")
            place = "%s:%s" % (where.get("file"), where.get("line")) if where is not None else "?"
            doc = text_of(member.find("briefdescription")) + \
                text_of(member.find("detaileddescription"))
            documented, _ = found.get(name, (False, place))
            found[name] = (documented or bool(doc), place)
    return found


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    xml_dir, symbols_file = argv[1], argv[2]
    with open(symbols_file) as f:
        symbols = [line.strip() for line in f if line.strip()]
    found = documented_functions(xml_dir)
    undeclared = [s for s in symbols if s not in found]
    undocumented = ["%s (%s)" % (s, found[s][1]) for s in symbols
                    if s in found and not found[s][0]]
    for s in undeclared:
        print("check_docs: %s is exported but no public header declares it" % s)
    for s in undocumented:
        print("check_docs: %s has no doc comment" % s)
    if undeclared or undocumented:
        print("check_docs: FAIL: %d of %d exported functions undocumented, %d undeclared "
              "(a /** ... */ comment right before the declaration documents it)"
              % (len(undocumented), len(symbols), len(undeclared)))
        return 1
    print("check_docs: all %d exported functions have a doc comment" % len(symbols))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
