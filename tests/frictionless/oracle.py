"""Runs frictionless-py over every oracle case and prints one JSON object:
{case: {"valid": bool, "errors": [[file, row, field, type], ...]}}.

A case folder holds `datapackage.json` (validated as a package) or `schema.json` +
`table.csv` (the table validated against the schema). One process for all cases."""

import json
import os
import sys

from frictionless import Resource, Schema, validate


def errors_of(report):
    out = []
    for task in report.tasks:
        path = os.path.basename(task.place or "")
        for e in task.errors:
            out.append([path, getattr(e, "row_number", None), getattr(e, "field_number", None), e.type])
    for e in report.errors:
        out.append([None, None, None, e.type])
    return out


def main(root):
    result = {}
    for case in sorted(os.listdir(root)):
        d = os.path.join(root, case)
        if not os.path.isdir(d):
            continue
        cwd = os.getcwd()
        os.chdir(d)
        try:
            if os.path.exists("datapackage.json"):
                report = validate("datapackage.json")
            else:
                try:
                    schema = Schema("schema.json")
                    report = validate(Resource("table.csv", schema=schema))
                except Exception as exc:  # an invalid schema
                    result[case] = {"valid": False, "errors": [[None, None, None, "schema-error"]], "note": str(exc)}
                    continue
            result[case] = {"valid": report.valid, "errors": errors_of(report)}
        except Exception as exc:
            result[case] = {"valid": False, "errors": [[None, None, None, "exception"]], "note": str(exc)}
        finally:
            os.chdir(cwd)
    json.dump(result, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1])
