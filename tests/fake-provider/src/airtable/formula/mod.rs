//! `filterByFormula`: Airtable's formula language as far as filters use it (`parse`: `{Field}` references,
//! strings, numbers, operators and the functions of `FUNCTIONS`; `eval`: Airtable's loose typing, blanks and
//! truthiness).

mod eval;
mod parse;

pub(super) use eval::{bind, eval, truthy};
pub(super) use parse::parse_formula;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::airtable::seed_data::contacts_table;
    use crate::airtable::store::Table;

    fn table() -> Table {
        contacts_table(20)
    }

    fn matches(formula: &str) -> Result<Vec<u64>, String> {
        let t = table();
        let e = parse_formula(formula).map_err(|()| "invalid".to_string())?;
        let mut unknown = Vec::new();
        let e = bind(&e, &t, &mut unknown);
        if !unknown.is_empty() {
            return Err(unknown.join(", "));
        }
        Ok((1..=20u64).filter(|i| t.recs.get(*i as usize - 1).is_some_and(|r| truthy(&eval(&e, &t, r)))).collect())
    }

    #[test]
    fn formulas() {
        assert_eq!(matches("{Name} = 'Pat O\\'Neil'"), Ok(vec![4]));
        assert_eq!(matches("{Name} = \"Say \\\"Hi\\\" Smith\""), Ok(vec![9]));
        assert_eq!(matches("{Name} = 'Back\\\\Slash'"), Ok(vec![12]));
        assert_eq!(matches("AND({Age} >= 60, NOT({Active}))"), Ok(vec![6, 15]));
        assert_eq!(matches("{Email} = BLANK()"), Ok(vec![10, 20]));
        assert_eq!(matches("RECORD_ID() = ''"), Ok(vec![]));
        assert_eq!(matches("{nope} = 1"), Err("nope".to_string()));
        assert!(matches("{Name} = 'unterminated").is_err());
        assert!(matches("AND(").is_err());
        assert!(matches("FOO(1)").is_err());
        // Deep nesting is refused, not a stack overflow.
        let deep = format!("{}1{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(matches(&deep).is_err());
        assert_eq!(matches(&format!("{}TRUE(){}", "(".repeat(50), ")".repeat(50))).map(|v| v.len()), Ok(20));
    }
}
