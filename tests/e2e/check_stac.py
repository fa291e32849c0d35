#!/usr/bin/env python3
"""check_stac.py ITEM SCHEMA: validates a STAC Item with python3-jsonschema (exit 77 when
the module is missing) and checks every asset's file:checksum and file:size against the
file beside the item."""
import hashlib
import json
import os
import sys

try:
    import jsonschema
except ImportError:
    print("SKIP: python3-jsonschema not installed")
    sys.exit(77)

item_path, schema_path = sys.argv[1], sys.argv[2]
with open(item_path) as f:
    item = json.load(f)
with open(schema_path) as f:
    schema = json.load(f)
fails = 0
validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
for err in validator.iter_errors(item):
    print("FAIL: schema: %s at %s" % (err.message, list(err.absolute_path)))
    fails += 1
base = os.path.dirname(item_path)
for key, asset in item.get("assets", {}).items():
    p = os.path.join(base, asset["href"])
    with open(p, "rb") as f:
        data = f.read()
    want = "1220" + hashlib.sha256(data).hexdigest()
    if asset.get("file:checksum") != want or asset.get("file:size") != len(data):
        print("FAIL: asset %s: checksum/size do not match %s" % (key, p))
        fails += 1
for need in ("change_tif", "summary_json"):
    if need not in item.get("assets", {}):
        print("FAIL: no asset %s" % need)
        fails += 1
if fails:
    print("FAIL: %d problem(s)" % fails)
else:
    print("PASS: stac item valid, %d assets checked" % len(item.get("assets", {})))
sys.exit(1 if fails else 0)
