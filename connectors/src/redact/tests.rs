//! The redactor: every registered form is replaced, short values are not registered, and
//! cutting never leaves part of a secret behind.

use super::*;

#[test]
fn registered_secrets_are_replaced_in_every_form() {
    let secret = "rt-sec/ret+value=01";
    register(secret);
    let b64 = base64::engine::general_purpose::STANDARD.encode(secret);
    let form = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>();
    for text in [
        format!("bad token {secret} here"),
        format!("body: client_secret={form}&x=1"),
        format!("echo {b64}"),
    ] {
        let out = redact(&text);
        assert!(out.contains(MARKER), "{out}");
        assert!(!out.contains(secret) && !out.contains(&form) && !out.contains(&b64));
    }
}

#[test]
fn basic_credentials_are_replaced_as_the_header_carries_them() {
    register_basic("rt-basic-user", "rt-basic-pass-9");
    let header = base64::engine::general_purpose::STANDARD.encode("rt-basic-user:rt-basic-pass-9");
    let out = redact(&format!("you sent Authorization: Basic {header}"));
    assert_eq!(out, format!("you sent Authorization: Basic {MARKER}"));
}

#[test]
fn long_credentials_after_a_scheme_word_are_replaced_even_when_unknown() {
    let out = redact("got 'authorization: BEARER abcdefghijklmnop.qrs' and Basic auth failed");
    assert_eq!(
        out,
        format!("got 'authorization: BEARER {MARKER}' and Basic auth failed")
    );
    // A scheme word inside another word, or a short word after it, stays.
    assert_eq!(
        redact("Unbearer abcdefghijklmnopqrstu"),
        "Unbearer abcdefghijklmnopqrstu"
    );
    assert_eq!(redact("Bearer token required"), "Bearer token required");
}

#[test]
fn short_values_are_not_registered() {
    register("xyz");
    assert_eq!(redact("xyz abc"), "xyz abc");
}

#[test]
fn bounded_texts_say_that_they_were_cut() {
    assert_eq!(bound("abcdef", 6), "abcdef");
    assert_eq!(bound("abcdef", 3), "abc… [cut: 6 characters in all]");
    let long = "é".repeat(1000);
    let out = network_text(&long, 10);
    assert!(out.starts_with(&"é".repeat(10)), "{out}");
    assert!(out.ends_with("… [cut: 1000 characters in all]"), "{out}");
}

#[test]
fn a_secret_across_the_cut_is_replaced_before_cutting() {
    let secret = "rt-straddling-secret-77";
    register(secret);
    let text = format!("{}{secret}{}", "a".repeat(95), "b".repeat(10_000));
    let out = network_text(&text, 100);
    assert!(!out.contains("rt-str"), "{out}");
    assert!(out.contains("[cut: "), "{out}");
    let out = network_bytes(text.as_bytes(), 100);
    assert!(!out.contains("rt-str"), "{out}");
    assert!(out.ends_with("bytes in all]"), "{out}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

    /// Whatever surrounds it and wherever the cut falls, a registered secret never
    /// survives, and the bound holds.
    #[test]
    fn no_registered_secret_survives_any_cut(
        before in ".{0,300}",
        after in ".{0,300}",
        max in 0usize..400,
    ) {
        let secret = "rt-prop-secret-31337";
        register(secret);
        let text = format!("{before}{secret}{after}");
        let out = network_text(&text, max);
        proptest::prop_assert!(!out.contains(secret));
        let shown = out.split("… [cut: ").next().unwrap_or("").chars().count();
        proptest::prop_assert!(shown <= max.max(text.chars().count()));
        let out = network_bytes(text.as_bytes(), max);
        proptest::prop_assert!(!out.contains(secret));
    }
}
