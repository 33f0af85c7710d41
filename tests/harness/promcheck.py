#!/usr/bin/env python3
"""promcheck.py — check that standard input is valid Prometheus text exposition
format (version 0.0.4), strictly enough for tests: every sample belongs to a
family declared by # TYPE before it, names and labels are well formed, label
values are properly escaped, values are numbers, a family is not declared
twice, and every histogram has cumulative buckets ending in +Inf whose count
equals _count. Prints the families found; exits 1 with the first problem."""
import math
import re
import sys

NAME = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*'
VALUE = r'"(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(rf'^({NAME})(?:\{{((?:{LABEL}={VALUE})(?:,{LABEL}={VALUE})*)?,?\}})? (\S+)(?: -?\d+)?$')
LABEL_PAIR = re.compile(rf'({LABEL})=({VALUE})')


def fail(line_no, why, line):
    print(f'line {line_no}: {why}: {line!r}')
    sys.exit(1)


def number(text):
    if text in ('+Inf', '-Inf', 'NaN'):
        return float(text.replace('Inf', 'inf').replace('NaN', 'nan'))
    return float(text)


def main():
    types, helps, samples = {}, set(), {}
    for no, line in enumerate(sys.stdin.read().split('\n'), 1):
        if line == '':
            continue
        if line.startswith('# HELP '):
            name = line.split(' ', 3)[2]
            if not re.fullmatch(NAME, name) or name in helps:
                fail(no, 'bad or repeated HELP', line)
            helps.add(name)
        elif line.startswith('# TYPE '):
            parts = line.split(' ')
            if len(parts) != 4 or parts[3] not in ('counter', 'gauge', 'histogram', 'summary', 'untyped'):
                fail(no, 'bad TYPE', line)
            if parts[2] in types:
                fail(no, 'family declared twice', line)
            types[parts[2]] = parts[3]
        elif line.startswith('#'):
            continue
        else:
            m = SAMPLE.match(line)
            if not m:
                fail(no, 'not a sample line', line)
            name, labels, value = m.group(1), m.group(2) or '', m.group(3)
            try:
                v = number(value)
            except ValueError:
                fail(no, 'value is not a number', line)
            family = name
            for suffix in ('_bucket', '_sum', '_count'):
                if name.endswith(suffix) and types.get(name[:-len(suffix)]) == 'histogram':
                    family = name[:-len(suffix)]
            if family not in types:
                fail(no, 'sample before its # TYPE', line)
            pairs = LABEL_PAIR.findall(labels)
            keys = [k for k, _ in pairs]
            if len(set(keys)) != len(keys):
                fail(no, 'a label given twice', line)
            if types[family] == 'counter' and (v < 0 or math.isnan(v)):
                fail(no, 'a negative counter', line)
            samples.setdefault(family, []).append((name, dict(pairs), v))
    for family, kind in types.items():
        if kind != 'histogram':
            continue
        series = {}
        for name, labels, v in samples.get(family, []):
            key = tuple(sorted((k, x) for k, x in labels.items() if k != 'le'))
            series.setdefault(key, {'buckets': [], 'count': None})
            if name.endswith('_bucket'):
                series[key]['buckets'].append((number(labels['le'].strip('"')), v))
            elif name.endswith('_count'):
                series[key]['count'] = v
        for key, s in series.items():
            bounds = [b for b, _ in s['buckets']]
            counts = [c for _, c in s['buckets']]
            if not bounds or bounds[-1] != math.inf or bounds != sorted(bounds) or counts != sorted(counts):
                print(f'histogram {family}{key}: buckets not cumulative or without +Inf')
                sys.exit(1)
            if s['count'] != counts[-1]:
                print(f'histogram {family}{key}: _count differs from the +Inf bucket')
                sys.exit(1)
    for family in sorted(types):
        print(family, types[family], len(samples.get(family, [])))


main()
