//! `GET /rest/types` and `/rest/types_bad`: three records whose values exercise Tether's type conversions
//! (numbers as strings, epoch and ISO timestamps, JSON, arrays, nulls), and a variant with one bad value.

use serde_json::{json, Value};

/// The three type-conversion fixtures; `bad` breaks `t_int4` in record 2.
pub fn types_records(bad: bool) -> Value {
    let mut records = json!([
        {
            "id": 1,
            "t_text": "hello",
            "t_int2": 12,
            "t_int4": "123",
            "t_int8": 9_007_199_254_740_993_u64,
            "t_numeric": "12345.678901",
            "t_float": 1.5,
            "t_bool": "true",
            "t_date": "2024-02-29",
            "t_ts": "2024-02-29T12:34:56.789Z",
            "t_ts_epoch": 1_709_210_096,
            "t_json": { "a": [1, 2] },
            "t_array": ["x", "y"],
            "t_csv": "a;b;c",
            "t_null": null,
        },
        {
            "id": 2,
            "t_text": "wörld ✓ \"quoted\"",
            "t_int2": -7,
            "t_int4": -42,
            "t_int8": "-9223372036854775808",
            "t_numeric": -0.5,
            "t_float": "2.25",
            "t_bool": false,
            "t_date": "1999-12-31",
            "t_ts": "2024-02-29T14:34:56.789+02:00",
            "t_ts_epoch": "1709210096",
            "t_json": [1, "two", null],
            "t_array": [],
            "t_csv": "",
            "t_null": null,
        },
        {
            "id": 3,
            "t_text": "",
            "t_int2": "32767",
            "t_int4": 2_147_483_647,
            "t_int8": 0,
            "t_numeric": 100,
            "t_float": -0.001,
            "t_bool": 0,
            "t_date": "2024-01-01",
            "t_ts": "2024-02-29T12:34:56.000+0000",
            "t_ts_epoch": 0,
            "t_json": { "nested": { "k": "v" } },
            "t_array": ["z"],
            "t_csv": "only",
            "t_null": null,
        },
    ]);
    if bad {
        if let Some(rec) = records.get_mut(1).and_then(Value::as_object_mut) {
            rec.insert("t_int4".into(), Value::String("12abc".into()));
        }
    }
    records
}
