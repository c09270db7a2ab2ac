//! A small typed Nix expression writer. Renderers build an [`Expr`] tree; only this module turns it into text,
//! so escaping lives in one place ([`crate::escape::NixString`]).

use std::fmt::Write;

use crate::escape::{NixAttrName, NixString};

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Str(String),
    Bool(bool),
    Int(i64),
    List(Vec<Expr>),
    /// `{ a.b = ...; c = ...; }`, in the given order. Each key is an attribute path.
    Attrs(Vec<(Vec<String>, Expr)>),
    /// A function from the module arguments applied to one argument, e.g. `lib.mkForce x`.
    Apply(&'static str, Box<Expr>),
    /// `{ a, b, ... }: body`
    Lambda(Vec<&'static str>, Box<Expr>),
}

impl Expr {
    pub fn str(s: impl Into<String>) -> Expr {
        Expr::Str(s.into())
    }
    pub fn strings<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> Expr {
        Expr::List(items.into_iter().map(|s| Expr::Str(s.into())).collect())
    }
    pub fn mk_force(e: Expr) -> Expr {
        Expr::Apply("lib.mkForce", Box::new(e))
    }

    /// The expression as Nix source, two-space indented, ending without a newline.
    pub fn to_nix(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out
    }

    fn write(&self, out: &mut String, indent: usize) {
        match self {
            Expr::Str(s) => write!(out, "{}", NixString(s)).expect("writing to a String"),
            Expr::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Expr::Int(i) => write!(out, "{i}").expect("writing to a String"),
            Expr::List(items) if items.is_empty() => out.push_str("[ ]"),
            Expr::List(items) => {
                out.push_str("[\n");
                for item in items {
                    pad(out, indent + 1);
                    item.write_operand(out, indent + 1);
                    out.push('\n');
                }
                pad(out, indent);
                out.push(']');
            }
            Expr::Attrs(attrs) if attrs.is_empty() => out.push_str("{ }"),
            Expr::Attrs(attrs) => {
                out.push_str("{\n");
                for (path, value) in attrs {
                    pad(out, indent + 1);
                    for (i, seg) in path.iter().enumerate() {
                        if i > 0 {
                            out.push('.');
                        }
                        write!(out, "{}", NixAttrName(seg)).expect("writing to a String");
                    }
                    out.push_str(" = ");
                    value.write(out, indent + 1);
                    out.push_str(";\n");
                }
                pad(out, indent);
                out.push('}');
            }
            Expr::Apply(f, arg) => {
                out.push_str(f);
                out.push(' ');
                arg.write_operand(out, indent);
            }
            Expr::Lambda(args, body) => {
                out.push_str("{ ");
                for a in args {
                    out.push_str(a);
                    out.push_str(", ");
                }
                out.push_str("... }:\n");
                pad(out, indent);
                body.write(out, indent);
            }
        }
    }

    /// Writes the expression where it is an operand (a list element or a function argument): applications and
    /// lambdas need parentheses there.
    fn write_operand(&self, out: &mut String, indent: usize) {
        if matches!(self, Expr::Apply(..) | Expr::Lambda(..)) {
            out.push('(');
            self.write(out, indent);
            out.push(')');
        } else {
            self.write(out, indent);
        }
    }
}

fn pad(out: &mut String, indent: usize) {
    for _ in 0..indent {
        out.push_str("  ");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_nested_module() {
        let e = Expr::Lambda(
            vec!["lib"],
            Box::new(Expr::Attrs(vec![
                (vec!["networking".into(), "hostName".into()], Expr::mk_force(Expr::str("web1"))),
                (vec!["boot".into(), "kernelParams".into()], Expr::strings(["a", "b${c}"])),
                (vec!["x".into()], Expr::List(vec![Expr::mk_force(Expr::Bool(true))])),
            ])),
        );
        assert_eq!(
            e.to_nix(),
            "{ lib, ... }:\n{\n  networking.hostName = lib.mkForce \"web1\";\n  boot.kernelParams = [\n    \"a\"\n    \"b\\${c}\"\n  ];\n  x = [\n    (lib.mkForce true)\n  ];\n}"
        );
    }
}
