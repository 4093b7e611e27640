//! A target's rules compiled: column names resolved to indices, the sets, maps, tables
//! and key domains the bundle [`Index`](super::Index) keeps, and what each kind feeds.

use super::{C, CKind, CRule, Col, Compiled, Cond, Fill, TableSpec, check, tablecheck};
use crate::Error;
use crate::schema::{Check, Condition, Matching, Rule, Target};

fn norm(target: &Target, name: &str) -> String {
    crate::detect::detection_name(&target.header, name)
}

impl Compiled {
    pub fn new(target: Target) -> Result<Compiled, Error> {
        let bad = |msg: String| Error::InvalidTarget {
            target: target.name.clone(),
            msg,
        };
        crate::codes::check_platform_messages(&target).map_err(bad)?;
        let mut sets: Vec<(usize, Col)> = Vec::new();
        let mut maps: Vec<(usize, Col, Col)> = Vec::new();
        // (kind, columns, owner, ignore_case, conditional) per uniqueness check.
        type UniqueSpec = (usize, Vec<Col>, Option<Col>, bool, bool);
        let mut uniques: Vec<UniqueSpec> = Vec::new();
        let mut kinds: Vec<CKind> = target
            .kinds
            .iter()
            .map(|k| CKind {
                columns: k.columns.iter().map(|c| norm(&target, c)).collect(),
                display: k.columns.clone(),
                manifest: None,
                stem: k.file_name.trim_end_matches(".csv").to_owned(),
                header_required: Vec::new(),
                rules: Vec::new(),
                feeds_sets: Vec::new(),
                feeds_maps: Vec::new(),
                probes: Vec::new(),
                probe_maps: Vec::new(),
                probe_refs: Vec::new(),
                rule_probes: Vec::new(),
                equals_probes: Vec::new(),
                row_rules: Vec::new(),
                all_rules: Vec::new(),
                index_rules: Vec::new(),
                probe_tables: Vec::new(),
                fills: Vec::new(),
                fk_feeds: Vec::new(),
            })
            .collect();
        let mut fks: Vec<tablecheck::FkSpec> = Vec::new();
        for (ki, kind) in target.kinds.iter().enumerate() {
            if kinds[..ki]
                .iter()
                .zip(&target.kinds)
                .any(|(_, k)| k.name == kind.name)
            {
                return Err(bad(format!("kind `{}` is defined twice", kind.name)));
            }
            // Identity columns are read for `diff` even when the kind does not list them.
            for c in kind.identity.iter().chain(&kind.case_insensitive) {
                let n = norm(&target, c);
                if !kinds[ki].columns.contains(&n) {
                    kinds[ki].columns.push(n);
                    kinds[ki].display.push(c.clone());
                }
            }
            let mut rules = Vec::new();
            for rule in &kind.rules {
                // Columns a rule names but the kind does not list are still read.
                for c in rule.check.columns() {
                    let n = norm(&target, c);
                    if !kinds[ki].columns.contains(&n) {
                        kinds[ki].columns.push(n);
                        kinds[ki].display.push(c.to_owned());
                    }
                }
                let cols = &kinds[ki].columns;
                let col = |name: &str| -> Col {
                    let n = norm(&target, name);
                    cols.iter().position(|c| *c == n).unwrap_or(0)
                };
                let kind_of = |name: &str| -> Result<usize, Error> {
                    target
                        .kinds
                        .iter()
                        .position(|k| k.name == name)
                        .ok_or_else(|| {
                            bad(format!(
                                "rule in `{}` names unknown kind `{name}`",
                                kind.name
                            ))
                        })
                };
                let check = match &rule.check {
                    Check::Required { column } => C::Required(col(column)),
                    Check::OneOf { columns } => C::OneOf(columns.iter().map(|c| col(c)).collect()),
                    Check::Enum {
                        column,
                        values,
                        matching,
                        blank_invalid,
                        separator,
                    } => {
                        let compared: Vec<String> = match matching {
                            Matching::Exact => values.clone(),
                            _ => values.iter().map(|v| v.to_lowercase()).collect(),
                        };
                        let mut bytes: Vec<&[u8]> = compared.iter().map(|v| v.as_bytes()).collect();
                        if *matching == Matching::IgnoreCasePrefix {
                            // A value that begins with another adds nothing to a prefix match
                            // (Canvas: `deleted_last_completed` after `deleted`), and may be
                            // too long for words.
                            let all = bytes.clone();
                            bytes.retain(|v| {
                                !all.iter().any(|p| p.len() < v.len() && v.starts_with(p))
                            });
                        }
                        C::Enum {
                            col: col(column),
                            few: check::Few::of(&bytes),
                            set: compared.iter().cloned().collect(),
                            values: compared,
                            shown: values.clone(),
                            matching: *matching,
                            blank_invalid: *blank_invalid,
                            sep: *separator,
                        }
                    }
                    Check::Blank { column } => C::Blank(col(column)),
                    Check::Date {
                        column,
                        allow_delete,
                        form,
                    } => C::Date {
                        form: *form,
                        col: col(column),
                        allow_delete: *allow_delete,
                    },
                    Check::Boolean { column } => C::Boolean(col(column)),
                    Check::Integer { column } => C::Integer(col(column)),
                    Check::Email { column } => C::Email(col(column)),
                    Check::MaxLength { column, max } => C::MaxLength(col(column), *max),
                    Check::NoControlChars { column } => C::NoControl(col(column)),
                    Check::Exclusive { columns } => {
                        C::Exclusive(columns.iter().map(|c| col(c)).collect())
                    }
                    Check::Different { columns } => match columns.as_slice() {
                        [a, b] => C::Different(col(a), col(b)),
                        _ => return Err(bad("`different` takes exactly two columns".into())),
                    },
                    Check::Unique {
                        columns,
                        owner,
                        ignore_case,
                    } => {
                        let cols: Vec<Col> = columns.iter().map(|c| col(c)).collect();
                        let owner = owner.as_deref().map(col);
                        uniques.push((ki, cols.clone(), owner, *ignore_case, rule.when.is_some()));
                        C::Unique {
                            cols,
                            owner,
                            ignore_case: *ignore_case,
                            table: uniques.len() - 1,
                        }
                    }
                    Check::Reference {
                        column,
                        kind: to,
                        key,
                        ordered,
                        separator,
                    } => {
                        let tk = kind_of(to)?;
                        let key_col = kinds[tk]
                            .columns
                            .iter()
                            .position(|c| *c == norm(&target, key));
                        let Some(key_col) = key_col else {
                            return Err(bad(format!("kind `{to}` has no column `{key}`")));
                        };
                        let set = match sets.iter().position(|&s| s == (tk, key_col)) {
                            Some(s) => s,
                            None => {
                                sets.push((tk, key_col));
                                sets.len() - 1
                            }
                        };
                        C::Reference {
                            col: col(column),
                            set,
                            kind: tk,
                            ordered: *ordered,
                            sep: *separator,
                        }
                    }
                    Check::Consistent {
                        column,
                        kind: to,
                        key,
                        attribute,
                        equals,
                    } => {
                        let tk = kind_of(to)?;
                        attribute_map(&kinds[tk].columns, &target, tk, key, attribute, &mut maps)
                            .map_err(|()| bad(format!("kind `{to}` lacks `{key}` or `{attribute}`")))?;
                        C::Consistent {
                            col: col(column),
                            equals: col(equals),
                            map: maps.len() - 1,
                            kind: tk,
                        }
                    }
                    Check::EnumBy {
                        column,
                        by,
                        values,
                        matching,
                        separator,
                    } => C::EnumBy {
                        col: col(column),
                        by: col(by),
                        lists: values
                            .iter()
                            .map(|(key, vs)| {
                                let compared = match matching {
                                    Matching::Exact => vs.clone(),
                                    _ => vs.iter().map(|v| v.to_lowercase()).collect(),
                                };
                                (key.to_lowercase(), compared, vs.clone())
                            })
                            .collect(),
                        matching: *matching,
                        sep: *separator,
                    },
                    Check::MaxItems {
                        column,
                        separator,
                        max,
                    } => C::MaxItems {
                        col: col(column),
                        sep: *separator,
                        max: *max,
                    },
                    Check::ReferenceWhere {
                        column,
                        kind: to,
                        key,
                        attribute,
                        values,
                        separator,
                    } => {
                        let tk = kind_of(to)?;
                        attribute_map(&kinds[tk].columns, &target, tk, key, attribute, &mut maps)
                            .map_err(|()| bad(format!("kind `{to}` lacks `{key}` or `{attribute}`")))?;
                        C::ReferenceWhere {
                            col: col(column),
                            map: maps.len() - 1,
                            kind: tk,
                            attribute: attribute.clone(),
                            values: values.clone(),
                            sep: *separator,
                        }
                    }
                    Check::Field { column, field } => C::Field {
                        col: col(column),
                        reader: Box::new(tablecheck::reader(field).map_err(&bad)?),
                        format: field.format.clone(),
                    },
                    Check::TypedUnique {
                        columns,
                        fields,
                        primary,
                    } => {
                        let cols: Vec<Col> = columns.iter().map(|c| col(c)).collect();
                        // Conditional, so that it keeps its own keys (TableSpec::Own).
                        uniques.push((ki, cols.clone(), None, false, true));
                        C::TypedUnique {
                            cols,
                            readers: tablecheck::readers(fields).map_err(&bad)?,
                            primary: *primary,
                            table: uniques.len() - 1,
                        }
                    }
                    Check::ForeignKey {
                        columns,
                        fields,
                        kind: to,
                        keys,
                        key_fields,
                    } => {
                        let tk = kind_of(to)?;
                        let target_cols = &target.kinds[tk].columns;
                        let key_cols =
                            keys.iter()
                                .map(|k| {
                                    target_cols.iter().position(|c| c == k).ok_or_else(|| {
                                        bad(format!("kind `{to}` has no column `{k}`"))
                                    })
                                })
                                .collect::<Result<Vec<Col>, Error>>()?;
                        if key_cols.len() != columns.len() || key_fields.len() != keys.len() {
                            return Err(bad(format!(
                                "foreign key in `{}`: {} columns refer to {} keys",
                                kind.name,
                                columns.len(),
                                keys.len()
                            )));
                        }
                        fks.push(tablecheck::FkSpec {
                            kind: tk,
                            cols: key_cols,
                            readers: tablecheck::readers(key_fields).map_err(&bad)?,
                        });
                        C::ForeignKey {
                            cols: columns.iter().map(|c| col(c)).collect(),
                            readers: tablecheck::readers(fields).map_err(&bad)?,
                            fk: fks.len() - 1,
                        }
                    }
                };
                let when = rule.when.as_ref().map(|w| match w {
                    Condition::Blank { column } => Cond::Blank(col(column)),
                    Condition::NotBlank { column } => Cond::NotBlank(col(column)),
                    Condition::OneOf { column, values } => Cond::OneOf(
                        col(column),
                        values.iter().map(|v| v.to_lowercase()).collect(),
                    ),
                    Condition::Prefix { column, prefix } => {
                        Cond::Prefix(col(column), prefix.clone())
                    }
                    Condition::Param { name, values } => Cond::Param(name.clone(), values.clone()),
                    Condition::Mode { values } => Cond::Mode(values.clone()),
                    Condition::Equals {
                        column,
                        values,
                        ignore_case,
                    } => Cond::Equals(
                        col(column),
                        values
                            .iter()
                            .map(|v| {
                                if *ignore_case {
                                    v.to_lowercase()
                                } else {
                                    v.clone()
                                }
                            })
                            .collect(),
                        *ignore_case,
                    ),
                });
                if matches!(when, Some(Cond::Mode(_)))
                    && !matches!(
                        rule.check,
                        Check::Required { .. } | Check::Blank { .. } | Check::Reference { .. }
                    )
                {
                    return Err(bad(format!(
                        "in `{}`: a mode condition applies only to required, blank and reference rules",
                        kind.name
                    )));
                }
                rules.push(compile_rule(rule, check, when));
            }
            kinds[ki].rules = rules;
        }
        for (ki, k) in target.kinds.iter().enumerate() {
            let ck = &mut kinds[ki];
            ck.header_required = k
                .required_columns
                .iter()
                .filter_map(|c| ck.columns.iter().position(|x| *x == norm(&target, c)))
                .collect();
        }
        if let Some(m) = &target.manifest {
            let Some(mk) = target.kinds.iter().position(|k| k.name == m.kind) else {
                return Err(bad(format!("manifest kind `{}` is not a kind", m.kind)));
            };
            let find = |c: &str| {
                kinds[mk]
                    .columns
                    .iter()
                    .position(|x| *x == norm(&target, c))
            };
            let (Some(kc), Some(vc)) = (find(&m.key), find(&m.value)) else {
                return Err(bad(
                    "the manifest's key or value column is not a column".into()
                ));
            };
            kinds[mk].manifest = Some((kc, vc, m.prefix.clone()));
        }
        for (s, &(k, c)) in sets.iter().enumerate() {
            kinds[k].feeds_sets.push((c, s));
        }
        for (m, &(k, key, attr)) in maps.iter().enumerate() {
            kinds[k].feeds_maps.push((key, attr, m));
        }
        for (f, spec) in fks.iter().enumerate() {
            kinds[spec.kind].fk_feeds.push(f);
        }
        // One key domain per (kind, column): a set and a map on the same column share it,
        // and so do owners of that column.
        let mut domains: Vec<(usize, Col)> = Vec::new();
        let mut domain = |kc: (usize, Col)| match domains.iter().position(|&d| d == kc) {
            Some(d) => d,
            None => {
                domains.push(kc);
                domains.len() - 1
            }
        };
        let set_domains: Vec<usize> = sets.iter().map(|&kc| domain(kc)).collect();
        // A map's attribute column that references a set (a section's course) is interned in
        // that set's domain: the bundle holds each course id once, and a consistency check
        // left unresolved (every row of a delta upload) groups its rows by the id their own
        // course reference found, without hashing the value again.
        let referenced = |k: usize, attr: Col| {
            kinds[k].rules.iter().find_map(|r| match r.check {
                C::Reference {
                    col,
                    set,
                    sep: None,
                    ..
                } if col == attr => Some(set_domains[set]),
                _ => None,
            })
        };
        let map_domains: Vec<(usize, usize)> = maps
            .iter()
            .map(|&(k, key, attr)| {
                let attr_domain = referenced(k, attr).unwrap_or_else(|| domain((k, attr)));
                (domain((k, key)), attr_domain)
            })
            .collect();
        let tables = uniques
            .into_iter()
            .map(|(k, cols, owner, ignore_case, conditional)| {
                let set = match cols.as_slice() {
                    &[only] if owner.is_none() && !ignore_case && !conditional => {
                        sets.iter().position(|&s| s == (k, only))
                    }
                    _ => None,
                };
                match set {
                    Some(s) => TableSpec::Set(s),
                    None => TableSpec::Own {
                        owner: owner.map(|o| domain((k, o))),
                    },
                }
            })
            .collect::<Vec<_>>();
        // The (domain, column) a check looks its row's value up in, if it does.
        let probe_of = |check: &C| match check {
            C::Reference {
                col,
                set,
                sep: None,
                ..
            } => Some((set_domains[*set], *col)),
            C::Consistent { col, map, .. } => Some((map_domains[*map].0, *col)),
            C::Unique { cols, table, .. } => match tables[*table] {
                TableSpec::Set(s) => Some((set_domains[s], cols[0])),
                TableSpec::Own { .. } => None,
            },
            _ => None,
        };
        for kind in &mut kinds {
            for rule in &kind.rules {
                if let Some(p) = probe_of(&rule.check)
                    && !kind.probes.contains(&p)
                {
                    kind.probes.push(p);
                }
            }
            let probe_index =
                |check: &C| kind.probes.iter().position(|&p| Some(p) == probe_of(check));
            kind.rule_probes = kind.rules.iter().map(|r| probe_index(&r.check)).collect();
            kind.equals_probes = (kind.rules.iter())
                .map(|r| match &r.check {
                    C::Consistent { equals, map, .. } => {
                        let p = (map_domains[*map].1, *equals);
                        kind.probes.iter().position(|&q| q == p)
                    }
                    _ => None,
                })
                .collect();
            kind.row_rules = (0..kind.rules.len() as u32)
                .filter(|&ri| reads_only_its_row(&kind.rules[ri as usize]))
                .collect();
            kind.all_rules = (0..kind.rules.len() as u32).collect();
            kind.index_rules = (0..kind.rules.len() as u32)
                .filter(|ri| !kind.row_rules.contains(ri))
                .collect();
            kind.probe_maps = kind
                .rules
                .iter()
                .filter_map(|rule| match &rule.check {
                    C::Consistent { map, .. } => Some((probe_index(&rule.check)?, *map)),
                    _ => None,
                })
                .collect();
            kind.probe_refs = (kind.rules.iter().enumerate())
                .filter(|(_, rule)| {
                    matches!(rule.check, C::Reference { .. } | C::Consistent { .. })
                })
                .filter_map(|(r, rule)| Some((probe_index(&rule.check)?, r)))
                .collect();
            kind.probe_tables = (0..kind.rules.len())
                .filter(|&r| match &kind.rules[r].check {
                    C::Unique { table, .. } => matches!(tables[*table], TableSpec::Own { .. }),
                    _ => false,
                })
                .collect();
            let defines = (kind
                .feeds_sets
                .iter()
                .map(|&(_, s)| Fill::Domain(set_domains[s])))
            .chain(
                kind.feeds_maps
                    .iter()
                    .map(|&(_, _, m)| Fill::Domain(map_domains[m].0)),
            );
            let owns = kind
                .probe_tables
                .iter()
                .filter_map(|&r| match &kind.rules[r].check {
                    C::Unique { table, .. } => Some(Fill::Table(*table)),
                    _ => None,
                });
            for fill in defines.chain(owns) {
                if !kind.fills.contains(&fill) {
                    kind.fills.push(fill);
                }
            }
        }
        Ok(Compiled {
            kinds,
            sets: set_domains,
            maps: map_domains,
            tables,
            domains: domains.len(),
            fks,
            target,
        })
    }
}

fn compile_rule(rule: &Rule, check: C, when: Option<Cond>) -> CRule {
    CRule {
        code: rule.check.code(),
        severity: rule.severity.unwrap_or(rule.check.default_severity()),
        check,
        when,
        message: rule.message.clone(),
        platform: rule.platform_message.clone(),
        platform_by_row: rule
            .platform_message
            .as_deref()
            .is_some_and(super::names_row_values),
    }
}

/// Registers the map `key` → `attribute` of kind `tk` (for `Consistent` and
/// `ReferenceWhere`); its index is then `maps.len() - 1`.
fn attribute_map(
    columns: &[String],
    target: &Target,
    tk: usize,
    key: &str,
    attribute: &str,
    maps: &mut Vec<(usize, Col, Col)>,
) -> Result<(), ()> {
    let find = |c: &str| columns.iter().position(|x| *x == norm(target, c));
    let (Some(k), Some(a)) = (find(key), find(attribute)) else {
        return Err(());
    };
    maps.push((tk, k, a));
    Ok(())
}

/// Whether `rule` reads only its row: a check that does ([`check::is_row_check`]), not
/// waiting for the manifest's mode (which a row may have to wait for).
fn reads_only_its_row(rule: &CRule) -> bool {
    super::check::is_row_check(&rule.check) && !matches!(rule.when, Some(Cond::Mode(_)))
}
