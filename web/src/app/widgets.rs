//! The form's widgets: a labelled text input or textarea, select or checkbox, each with its inline errors and the
//! installer's notices, wired to `aria-invalid` and `aria-describedby`.

use std::collections::HashMap;

use nixos_images_core::effects::Notice;
use nixos_images_core::FieldError;
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

use super::msg::{Edit, Msg};
use crate::form::{field_id, messages_for_input, ListKind};

/// The errors, and what the chosen installer ignores or applies only in part (strict: errors instead), by the id
/// of the input that shows them (`form::input_for`, worked out once per edit).
#[derive(Default, PartialEq)]
pub struct Notes {
    pub errors: HashMap<String, Vec<FieldError>>,
    pub notices: HashMap<String, Vec<Notice>>,
}

/// What the widgets are drawn with: the notes of their inputs and the callback their messages go to.
#[derive(Clone, Copy)]
pub struct Widgets<'a> {
    pub notes: &'a Notes,
    pub send: &'a Callback<Msg>,
}

/// A text input or textarea bound to a form field, with its label, hint and inline error.
pub struct Field<'a> {
    pub label: &'a str,
    pub id: String,
    pub value: &'a str,
    pub hint: Option<&'a str>,
    pub list: Option<ListKind>,
    pub area: bool,
    pub placeholder: Option<&'a str>,
}

impl<'a> Field<'a> {
    /// A one-line input for the field at `path`.
    pub fn line(label: &'a str, path: &str, value: &'a str) -> Field<'a> {
        Field { label, id: field_id(path), value, hint: None, list: None, area: false, placeholder: None }
    }

    /// A textarea for the list field at `path` (entries labelled in messages as `kind` says).
    pub fn list(label: &'a str, path: &str, value: &'a str, kind: ListKind) -> Field<'a> {
        Field { list: Some(kind), area: true, ..Field::line(label, path, value) }
    }

    pub fn hint(self, hint: &'a str) -> Self {
        Field { hint: Some(hint), ..self }
    }

    pub fn placeholder(self, placeholder: &'a str) -> Self {
        Field { placeholder: Some(placeholder), ..self }
    }

    /// A one-line input even for a list field.
    pub fn one_line(self) -> Self {
        Field { area: false, ..self }
    }
}

pub fn input_value(e: &InputEvent) -> String {
    if let Some(t) = e.target_dyn_into::<HtmlTextAreaElement>() {
        return t.value();
    }
    e.target_unchecked_into::<HtmlInputElement>().value()
}

fn error_list(id: String, messages: &[String]) -> Html {
    html! {
        <ul class="error" id={id}>{ for messages.iter().map(|m| html! { <li>{ m }</li> }) }</ul>
    }
}

impl Widgets<'_> {
    /// A click handler that sends `msg`.
    pub fn click(&self, msg: impl Fn() -> Msg + 'static) -> Callback<MouseEvent> {
        let send = self.send.clone();
        Callback::from(move |_| send.emit(msg()))
    }

    /// The messages shown at the input `id` (list entries labelled by line or word).
    pub fn messages(&self, id: &str, list: Option<(ListKind, &str)>) -> Vec<String> {
        match self.notes.errors.get(id) {
            Some(errors) => messages_for_input(errors, id, list),
            None => vec![],
        }
    }

    /// A field whose input event sets the form through `edit`.
    pub fn field(&self, f: Field<'_>, edit: Edit) -> Html {
        let messages = self.messages(&f.id, f.list.map(|k| (k, f.value)));
        let send = self.send.clone();
        let onset = Callback::from(move |e: InputEvent| send.emit(Msg::Set(edit.clone(), input_value(&e))));
        self.field_with(f, messages, onset, NodeRef::default())
    }

    pub fn field_with(
        &self,
        f: Field<'_>,
        messages: Vec<String>,
        oninput: Callback<InputEvent>,
        node: NodeRef,
    ) -> Html {
        let err_id = format!("{}-err", f.id);
        let hint_id = format!("{}-hint", f.id);
        let invalid = !messages.is_empty();
        let notices = self.view_notices(&f.id);
        let mut described = Vec::new();
        if invalid {
            described.push(err_id.clone());
        }
        if notices.is_some() {
            described.push(format!("{}-notice", f.id));
        }
        if f.hint.is_some() {
            described.push(hint_id.clone());
        }
        let describedby = (!described.is_empty()).then(|| described.join(" "));
        let aria_invalid = invalid.then_some("true");
        let placeholder = f.placeholder.map(str::to_string);
        let input = if f.area {
            html! {
                <textarea id={f.id.clone()} ref={node} value={f.value.to_string()} {oninput} rows="3"
                    spellcheck="false" autocomplete="off" {placeholder}
                    aria-invalid={aria_invalid} aria-describedby={describedby} />
            }
        } else {
            html! {
                <input type="text" id={f.id.clone()} ref={node} value={f.value.to_string()} {oninput}
                    spellcheck="false" autocomplete="off" {placeholder}
                    aria-invalid={aria_invalid} aria-describedby={describedby} />
            }
        };
        html! {
            <div class={classes!("field", invalid.then_some("invalid"))}>
                <label for={f.id.clone()}>{ f.label }</label>
                { input }
                if let Some(h) = f.hint { <small class="hint" id={hint_id}>{ h }</small> }
                if invalid { { error_list(err_id, &messages) } }
                { notices.unwrap_or_default() }
            </div>
        }
    }

    /// The notices at one input: `warning`/`note` with the installer's reason, or nothing.
    fn view_notices(&self, id: &str) -> Option<Html> {
        let here: &[Notice] = self.notes.notices.get(id)?;
        let item = |n: &Notice| {
            let severity = n.severity.as_str();
            html! {
                <li class={format!("notice-{severity}")}>
                    <strong>{ severity }</strong>{ format!(": {}", n.message) }
                </li>
            }
        };
        Some(html! {
            <ul class="notice" id={format!("{id}-notice")}>{ for here.iter().map(item) }</ul>
        })
    }

    /// A select for the field at `path`; `options` are (value, label).
    pub fn select(&self, label: &str, path: &str, value: &str, options: &[(&str, &str)], edit: Edit) -> Html {
        let id = field_id(path);
        let messages = self.messages(&id, None);
        let send = self.send.clone();
        let onchange = Callback::from(move |e: Event| {
            send.emit(Msg::Set(edit.clone(), e.target_unchecked_into::<HtmlSelectElement>().value()))
        });
        let err_id = format!("{id}-err");
        let invalid = !messages.is_empty();
        let option = |(v, l): &(&str, &str)| {
            html! { <option value={v.to_string()} selected={*v == value}>{ *l }</option> }
        };
        html! {
            <div class={classes!("field", invalid.then_some("invalid"))}>
                <label for={id.clone()}>{ label }</label>
                <select id={id.clone()} {onchange} aria-invalid={invalid.then_some("true")}
                    aria-describedby={invalid.then(|| err_id.clone())}>
                    { for options.iter().map(option) }
                </select>
                if invalid { { error_list(err_id, &messages) } }
            </div>
        }
    }

    /// A checkbox for a form flag; `edit` gets `"1"` when checked, `""` when not.
    pub fn checkbox(&self, label: &str, id: String, checked: bool, edit: Edit) -> Html {
        let send = self.send.clone();
        let onchange = Callback::from(move |e: Event| {
            let on = e.target_unchecked_into::<HtmlInputElement>().checked();
            send.emit(Msg::Set(edit.clone(), if on { "1" } else { "" }.into()))
        });
        let notices = self.view_notices(&id);
        html! {
            <div class="check">
                <input type="checkbox" id={id.clone()} {checked} {onchange}
                    aria-describedby={notices.is_some().then(|| format!("{id}-notice"))} />
                <label for={id.clone()}>{ label }</label>
                { notices.unwrap_or_default() }
            </div>
        }
    }
}
