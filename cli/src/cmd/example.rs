use anyhow::Result;
use nixos_images_core::{Request, RequestFormat, EXAMPLE_REQUEST};

use crate::cli::{ExampleArgs, RequestFileFormat};
use crate::output;

pub fn run(args: &ExampleArgs) -> Result<()> {
    let text = match args.format {
        RequestFileFormat::Toml => EXAMPLE_REQUEST.to_string(),
        RequestFileFormat::Json => {
            // The built-in example is tested to parse; this cannot fail.
            let req = Request::parse(EXAMPLE_REQUEST, RequestFormat::Toml).expect("the built-in example parses");
            serde_json::to_string_pretty(&req)? + "\n"
        }
    };
    output::write_stdout(text.as_bytes(), false)
}
