//! The published API description is valid OpenAPI 3.1, as the tools integrators load it with
//! see it (openapi-spec-validator, PyPI), not only as YAML.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use kokuin_testkit::{python, run, text};

#[test]
fn the_api_description_is_valid_openapi_3_1() {
    let spec = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.yaml");
    let o = run(
        &python(),
        &[
            "-c",
            "import sys\n\
             from openapi_spec_validator import validate\n\
             from openapi_spec_validator.readers import read_from_filename\n\
             spec, _ = read_from_filename(sys.argv[1])\n\
             assert spec['openapi'].startswith('3.1'), spec['openapi']\n\
             validate(spec)\n\
             print('valid')",
            spec,
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("valid"));
}
