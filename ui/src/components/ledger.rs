//! Ledger pieces shared by the Records page, the viewer and the Audit page: short forms of
//! addresses and hashes, local times, and the "On the ledger" badge.

use medwallet_api::LedgerMark;
use wasm_bindgen::prelude::*;
use yew::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// The JS `Date`, for local times (the UI has no clock or time zone of its own).
    #[wasm_bindgen(js_name = Date)]
    type JsDate;

    #[wasm_bindgen(constructor, js_class = Date)]
    fn new(value: &JsValue) -> JsDate;

    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    fn date_now() -> f64;

    #[wasm_bindgen(method, js_class = Date, js_name = getTime)]
    fn get_time(this: &JsDate) -> f64;

    #[wasm_bindgen(method, js_class = Date, js_name = toLocaleString)]
    fn to_locale_string(this: &JsDate) -> String;

    #[wasm_bindgen(method, js_class = Date, js_name = getFullYear)]
    fn get_full_year(this: &JsDate) -> u32;

    #[wasm_bindgen(method, js_class = Date, js_name = getMonth)]
    fn get_month(this: &JsDate) -> u32;

    #[wasm_bindgen(method, js_class = Date, js_name = getDate)]
    fn get_date(this: &JsDate) -> u32;
}

/// `0xabcd…1234`: the start and end of an address, id or hash (the whole of a short one).
pub fn short_hex(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= 12 {
        return value.to_owned();
    }
    let head: String = chars[..6].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// An RFC 3339 time as a local date and time; the text itself if it does not parse.
pub fn local_time(rfc3339: &str) -> String {
    let date = JsDate::new(&JsValue::from_str(rfc3339));
    if date.get_time().is_nan() {
        rfc3339.to_owned()
    } else {
        date.to_locale_string()
    }
}

/// Today's local date, `YYYY-MM-DD`.
pub fn today() -> String {
    let date = JsDate::new(&JsValue::from_f64(date_now()));
    iso_date(date.get_full_year(), date.get_month() + 1, date.get_date())
}

/// `YYYY-MM-DD`.
pub fn iso_date(year: u32, month: u32, day: u32) -> String {
    format!("{year:04}-{month:02}-{day:02}")
}

/// "On the ledger" (block and transaction in the tooltip) or "Ledger: pending" (why).
pub fn ledger_badge(mark: &LedgerMark, id: Option<&'static str>) -> Html {
    let (state, label, detail) = match mark {
        LedgerMark::Registered {
            block_number,
            tx_hash,
        } => (
            "registered",
            "On the ledger",
            format!("Block {block_number} · tx {tx_hash}"),
        ),
        LedgerMark::Pending { reason } => ("pending", "Ledger: pending", reason.clone()),
    };
    html! {
        <span {id} class={classes!("badge", "record-ledger", state)} data-ledger={state}
              title={detail.clone()} aria-description={detail}>
            { label }
        </span>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_forms() {
        assert_eq!(
            short_hex("0xabcdef0123456789abcdef0123456789abcd1234"),
            "0xabcd…1234"
        );
        assert_eq!(short_hex("0x1234"), "0x1234");
        assert_eq!(iso_date(2026, 3, 7), "2026-03-07");
    }
}
