//! Checks shared by the fuzz targets.

use ucwa::{Challenge, Resource};

/// Serializes a resource to JSON and reads it back: the copy must equal the original.
pub fn assert_json_round_trip(resource: &Resource) {
    let json = serde_json::to_vec(resource).expect("a resource serializes to json");
    match Resource::from_json(&json) {
        Ok(again) => assert_eq!(
            &again,
            resource,
            "the json round trip changed the resource: {}",
            String::from_utf8_lossy(&json)
        ),
        Err(error) => panic!(
            "the json of a resource does not parse back ({error}): {}",
            String::from_utf8_lossy(&json)
        ),
    }
}

/// Renders challenges as one `WWW-Authenticate` value, every parameter value quoted.
pub fn render_challenges(challenges: &[Challenge]) -> String {
    let mut header = String::new();
    for challenge in challenges {
        if !header.is_empty() {
            header.push_str(", ");
        }
        header.push_str(&challenge.scheme);
        for (index, (name, value)) in challenge.params.iter().enumerate() {
            header.push_str(if index == 0 { " " } else { ", " });
            header.push_str(name);
            header.push_str("=\"");
            for character in value.chars() {
                if character == '"' || character == '\\' {
                    header.push('\\');
                }
                header.push(character);
            }
            header.push('"');
        }
    }
    header
}
