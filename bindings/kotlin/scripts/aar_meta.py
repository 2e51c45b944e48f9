#!/usr/bin/env python3
"""The AAR's manifest and the checks of its JVM half, from the Gradle module's own files.

    aar_meta.py manifest <out>   writes the AAR's AndroidManifest.xml: the module's
                                 src/main/AndroidManifest.xml plus package (sessioncore.namespace)
                                 and <uses-sdk android:minSdkVersion> (sessioncore.minSdk), as AGP
                                 writes it into an AAR
    aar_meta.py check-manifest <file>   valid XML, the package and the min SDK; exit 1 if not
    aar_meta.py property <name>  prints a property of bindings/kotlin/android/gradle.properties
"""

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

MODULE = Path(__file__).resolve().parent.parent / "android"
ANDROID = "http://schemas.android.com/apk/res/android"


def properties():
    values = {}
    for line in (MODULE / "gradle.properties").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


def manifest(out: Path):
    props = properties()
    ET.register_namespace("android", ANDROID)
    tree = ET.parse(MODULE / "src" / "main" / "AndroidManifest.xml")
    root = tree.getroot()
    if root.get("package"):
        raise SystemExit("src/main/AndroidManifest.xml must not set package (AGP 8 takes it from the namespace)")
    root.set("package", props["sessioncore.namespace"])
    uses_sdk = ET.Element("uses-sdk", {f"{{{ANDROID}}}minSdkVersion": props["sessioncore.minSdk"]})
    uses_sdk.tail = "\n    "
    root.insert(0, uses_sdk)
    ET.indent(tree, space="    ")
    tree.write(out, encoding="utf-8", xml_declaration=True)


def check_manifest(path: Path) -> int:
    props = properties()
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as error:
        print(f"{path}: not valid XML: {error}", file=sys.stderr)
        return 1
    problems = []
    if root.tag != "manifest":
        problems.append(f"the root element is <{root.tag}>, not <manifest>")
    if root.get("package") != props["sessioncore.namespace"]:
        problems.append(f"package is {root.get('package')!r}, not {props['sessioncore.namespace']!r}")
    min_sdk = [e.get(f"{{{ANDROID}}}minSdkVersion") for e in root.findall("uses-sdk")]
    if min_sdk != [props["sessioncore.minSdk"]]:
        problems.append(f"uses-sdk minSdkVersion is {min_sdk}, not [{props['sessioncore.minSdk']!r}]")
    for problem in problems:
        print(f"{path}: {problem}", file=sys.stderr)
    if not problems:
        print(f"{path}: package {root.get('package')}, minSdkVersion {min_sdk[0]}")
    return 1 if problems else 0


def main(argv):
    if len(argv) == 3 and argv[1] == "manifest":
        manifest(Path(argv[2]))
        return 0
    if len(argv) == 3 and argv[1] == "check-manifest":
        return check_manifest(Path(argv[2]))
    if len(argv) == 3 and argv[1] == "property":
        print(properties()[argv[2]])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
