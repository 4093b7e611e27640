"""Writes the oracle cases under tests/data/frictionless/oracle/ (run once; the files are
committed). Each case: a Table Schema + table.csv, or a Data Package + its CSV files."""

import json
import os
import shutil
import sys

ROOT = sys.argv[1]


def table(name, fields, csv, **schema):
    schema = dict(schema, fields=fields)
    return name, {"schema.json": json.dumps(schema, indent=1), "table.csv": csv}


def package(name, resources, files):
    pkg = {"name": name, "resources": resources}
    out = {"datapackage.json": json.dumps(pkg, indent=1)}
    out.update(files)
    return name, out


F = lambda name, type="string", **kw: dict(name=name, type=type, **kw)  # noqa: E731
C = lambda name, type="string", **c: dict(name=name, type=type, constraints=c)  # noqa: E731

CASES = [
    table("01-string-valid", [F("id"), F("name")], "id,name\na,Ann\nb,Bob\n"),
    table("02-integer", [F("n", "integer")], "n\n1\n01\n-3\n+4\n1.0\nx\n 5 \n"),
    table("03-integer-bare-number", [F("n", "integer", bareNumber=False)], "n\n$12\n12 items\nabc\n-7%\n"),
    table("04-number", [F("x", "number")], "x\n1.5\n4e4\n-0.25\n.5\n1,5\nabc\n1e\n"),
    table("05-number-decimal-group", [F("x", "number", decimalChar=",", groupChar=".")], "x\n1.234,5\n\"12,0\"\n1.5.0\nabc\n"),
    table("06-number-bare-number", [F("x", "number", bareNumber=False)], "x\n€ 12.5\n12.5 EUR\n95%\nnone\n"),
    table("07-boolean-default", [F("b", "boolean")], "b\ntrue\nFalse\n1\n0\nyes\nTRUE\n"),
    table("08-boolean-custom", [F("b", "boolean", trueValues=["Y", "yes"], falseValues=["N"])], "b\nY\nyes\nN\ntrue\nn\n"),
    table("09-date-default", [F("d", "date")], "d\n2020-01-31\n2020-02-30\n2020/01/01\n31-01-2020\n2020-1-5\n"),
    table("10-date-pattern", [F("d", "date", format="%d/%m/%Y")], "d\n31/01/2020\n1/2/2021\n2020-01-31\n30/02/2020\n"),
    table("11-datetime-default", [F("t", "datetime")], "t\n2020-01-31T10:00:00Z\n2020-01-31T10:00:00+02:00\n2020-01-31T10:00:00\n2020-01-31 10:00\n2020-01-31\nnope\n"),
    table("12-datetime-pattern", [F("t", "datetime", format="%Y-%m-%d %H:%M")], "t\n2020-01-31 10:15\n2020-01-31T10:15\n2020-01-31 25:00\n"),
    table("13-time", [F("t", "time")], "t\n10:00:00\n23:59:59\n24:00:00\n10:00\n9:00:00\n"),
    table("14-year-yearmonth", [F("y", "year"), F("ym", "yearmonth")], "y,ym\n2020,2020-01\n20,2020-13\nabcd,2020-1\n2021,202001\n"),
    table("15-duration", [F("d", "duration")], "d\nP1Y2M3D\nPT1H30M\nP1W\n1 day\nP\nPT1.5S\n"),
    table("16-object-array", [F("o", "object"), F("a", "array")], "o,a\n\"{\"\"k\"\": 1}\",\"[1, 2]\"\n[1],{}\nx,\"[\"\"a\"\"]\"\n"),
    table("17-string-formats", [F("e", format="email"), F("u", format="uri"), F("id", format="uuid"), F("b", format="binary")],
          "e,u,id,b\na@example.org,https://example.org/x,123e4567-e89b-12d3-a456-426614174000,aGVsbG8=\nnot-an-email,example.org,1234,aGVsbG8\n"),
    table("18-geopoint", [F("p", "geopoint"), F("q", "geopoint", format="array")], "p,q\n\"10, 20\",\"[10, 20]\"\n\"200, 20\",\"[1]\"\nx,\"[10, 95]\"\n"),
    table("19-any", [F("a", "any")], "a\nx\n1\n\n"),
    table("20-unknown-type", [F("a", "decimal")], "a\n1\n"),
    table("21-required", [C("a", required=True), F("b")], "a,b\nx,1\n,2\n\"\",3\n"),
    table("22-min-max-length", [C("s", minLength=2, maxLength=4)], "s\nab\na\nabcde\nabcd\n"),
    table("23-minimum-maximum-integer", [C("n", "integer", minimum=1, maximum=10)], "n\n1\n0\n10\n11\n05\n"),
    table("24-minimum-maximum-number", [C("x", "number", minimum=0.5, maximum="1e2")], "x\n0.5\n0.49\n100\n100.01\n1E2\n"),
    table("25-minimum-date", [C("d", "date", minimum="2020-01-01", maximum="2020-12-31")], "d\n2020-01-01\n2019-12-31\n2021-01-01\n"),
    table("26-pattern", [C("code", pattern="[A-Z]{2}[0-9]+")], "code\nAB12\nab12\nAB12x\nXAB12\nAB\n"),
    table("27-enum-string", [C("c", enum=["red", "green"])], "c\nred\nRed\nblue\n"),
    table("28-enum-number-typed", [C("x", "number", enum=[40000, "1.5"])], "x\n4e4\n4E4\n40000.0\n1.50\n2\n"),
    table("29-enum-integer-typed", [C("n", "integer", enum=["1", 2])], "n\n01\n2\n3\n"),
    table("30-unique-integer-typed", [C("n", "integer", unique=True)], "n\n1\n01\n2\n\n\n"),
    table("31-unique-string", [C("s", unique=True)], "s\na\nb\na\nA\n"),
    table("32-missing-values", [C("a", "integer", required=True), F("b")], "a,b\nNA,x\n-,y\n3,NA\n", missingValues=["", "NA", "-"]),
    table("33-missing-values-no-blank", [F("a", "integer"), F("b")], "a,b\n,x\n1,\n", missingValues=["NA"]),
    table("34-primary-key", [F("id", "integer"), F("name")], "id,name\n1,a\n2,b\n01,c\n,d\n", primaryKey="id"),
    table("35-primary-key-composite", [F("a"), F("b", "integer")], "a,b\nx,1\nx,2\nx,01\ny,1\n,\n", primaryKey=["a", "b"]),
    table("36-self-reference", [F("id", "integer"), F("parent", "integer")], "id,parent\n1,\n2,1\n3,4\n4,02\n5,9\n",
          primaryKey="id", foreignKeys=[{"fields": "parent", "reference": {"resource": "", "fields": "id"}}]),
    table("37-header-incorrect", [F("id"), F("name"), F("age", "integer")], "id,Name,years\n1,a,2\n2,b,x\n"),
    table("38-header-extra-missing", [F("id"), F("name"), F("age", "integer")], "id,name\n1,a\n2,b,3\n"),
    table("39-header-extra-label", [F("id"), F("name")], "id,name,extra\n1,a,x\n2,b\n"),
    table("40-duplicate-blank-label", [F("a"), F("b"), F("c")], "a,a,\n1,2,3\n"),
    table("41-blank-rows", [F("a"), F("b", "integer")], "a,b\n1,2\n,\n3,4\n\n5,x\n"),
    table("42-extra-missing-cells", [F("a"), F("b"), F("c", "integer", constraints={"required": True})], "a,b,c\n1,2,3\n1,2\n1,2,3,4\n1\n"),
    table("43-multiple-constraints", [C("s", minLength=3, pattern="[a-z]+", enum=["abc", "abcd"])], "s\nabc\nAB\nxyz\n"),
    table("44-exclusive-bounds", [C("n", "integer", exclusiveMinimum=0, exclusiveMaximum=10)], "n\n0\n1\n9\n10\n"),
    package("45-package-path-binding", [
        {"name": "capitals", "path": "data/capitals.csv", "schema": {"fields": [F("country"), F("capital")]}},
        {"name": "countries", "path": "data/countries.csv", "schema": {"fields": [F("country"), F("capital"), F("population", "integer")]}},
    ], {"data/capitals.csv": "country,capital\nFrance,Paris\n", "data/countries.csv": "country,capital,population\nFrance,Paris,67\nItaly,Rome,many\n"}),
    package("46-package-foreign-key", [
        {"name": "depts", "path": "depts.csv", "schema": {"fields": [F("code"), F("name")], "primaryKey": "code"}},
        {"name": "staff", "path": "staff.csv", "schema": {"fields": [F("id", "integer"), F("dept")], "primaryKey": "id",
            "foreignKeys": [{"fields": "dept", "reference": {"resource": "depts", "fields": "code"}}]}},
    ], {"depts.csv": "code,name\nA,Alpha\nB,Beta\n", "staff.csv": "id,dept\n1,A\n2,C\n3,\n4,b\n"}),
    package("47-package-foreign-key-composite", [
        {"name": "rooms", "path": "rooms.csv", "schema": {"fields": [F("building"), F("room", "integer")], "primaryKey": ["building", "room"]}},
        {"name": "classes", "path": "classes.csv", "schema": {"fields": [F("id"), F("building"), F("room", "integer")],
            "foreignKeys": [{"fields": ["building", "room"], "reference": {"resource": "rooms", "fields": ["building", "room"]}}]}},
    ], {"rooms.csv": "building,room\nN,1\nN,2\nS,1\n", "classes.csv": "id,building,room\nc1,N,1\nc2,N,01\nc3,S,2\nc4,,\nc5,X,1\n"}),
    package("48-package-fk-typed", [
        {"name": "codes", "path": "codes.csv", "schema": {"fields": [F("code", "integer")]}},
        {"name": "uses", "path": "uses.csv", "schema": {"fields": [F("code", "integer")],
            "foreignKeys": [{"fields": "code", "reference": {"resource": "codes", "fields": "code"}}]}},
    ], {"codes.csv": "code\n1\n2\n", "uses.csv": "code\n001\n2\n3\n"}),
    package("49-package-dialect-delimiter", [
        {"name": "t", "path": "t.csv", "dialect": {"delimiter": ";"}, "schema": {"fields": [F("a"), F("b", "integer")]}},
    ], {"t.csv": "a;b\nx;1\ny;z\n"}),
    package("50-package-dialect-no-header", [
        {"name": "t", "path": "t.csv", "dialect": {"header": False}, "schema": {"fields": [F("a"), F("b", "integer")]}},
    ], {"t.csv": "x,1\ny,z\n"}),
    table("52-unique-keys", [F("a"), F("b", "integer"), F("c")], "a,b,c\nx,1,p\nx,01,q\ny,1,r\n", uniqueKeys=[["a", "b"]]),
    table("53-date-any", [F("d", "date", format="any")], "d\n2020-01-31\n01/31/2020\nnope\n"),
    table("54-geojson", [F("g", "geojson")], 'g\n"{""type"": ""Point"", ""coordinates"": [1, 2]}"\n"{""type"": ""Nope""}"\n[1]\n'),
    table("55-blank-row-missing-values", [F("a"), F("b", "integer")], "a,b\nNA,NA\nx,NA\n", missingValues=["", "NA"], primaryKey="a"),
    table("56-self-reference-composite", [F("a"), F("b", "integer"), F("pa"), F("pb", "integer")],
          "a,b,pa,pb\nx,1,,\nx,2,x,1\ny,1,x,01\ny,2,z,1\n", primaryKey=["a", "b"],
          foreignKeys=[{"fields": ["pa", "pb"], "reference": {"resource": "", "fields": ["a", "b"]}}]),
    table("57-header-order-and-case", [F("id", "integer"), F("name")], "Name,ID\nann,1\nbob,2\n"),
    table("58-string-length-unicode", [C("s", maxLength=3)], "s\ncafé\ncaf\nçà\n"),
    table("59-year-constraints", [C("y", "year", minimum=2000, enum=[2000, 2020])], "y\n2020\n1999\n2010\n"),
    table("60-time-datetime-bounds", [C("t", "time", maximum="12:00:00"), C("dt", "datetime", minimum="2020-01-01T00:00:00Z")],
          "t,dt\n11:00:00,2020-01-02T00:00:00Z\n13:00:00,2019-12-31T23:00:00Z\n"),
    package("51-package-valid", [
        {"name": "a", "path": "a.csv", "schema": {"fields": [F("id", "integer", constraints={"required": True}), F("when", "date")], "primaryKey": "id"}},
    ], {"a.csv": "id,when\n1,2020-01-01\n2,2021-06-30\n"}),
]

for name, files in CASES:
    if os.path.isdir(os.path.join(ROOT, name)):
        shutil.rmtree(os.path.join(ROOT, name))
    for rel, text in files.items():
        p = os.path.join(ROOT, name, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w", newline="") as f:
            f.write(text)
print(len(CASES), "cases")
