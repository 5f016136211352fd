//! The application resource: created once per bot instance, it leads to the event channel.

use std::fmt;

use reqwest::{Method, StatusCode};
use url::Url;

use crate::client::Client;
use crate::error::Error;
use crate::link::{Link, Links};
use crate::representation;
use crate::request::Request;
use crate::resource::Resource;

/// The longest `userAgent`, `endpointId` or `culture` the protocol allows, in characters.
pub const MAX_APPLICATION_FIELD_CHARS: usize = 100;

/// What a new application says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationSpec {
    /// The `userAgent`: the bot's name and version.
    pub user_agent: String,
    /// The `endpointId`: a stable id of this instance (a UUID, say).
    pub endpoint_id: String,
    /// The `culture`, such as `en-US`.
    pub culture: String,
}

impl ApplicationSpec {
    /// A spec with these three fields.
    pub fn new(
        user_agent: impl Into<String>,
        endpoint_id: impl Into<String>,
        culture: impl Into<String>,
    ) -> Self {
        ApplicationSpec {
            user_agent: user_agent.into(),
            endpoint_id: endpoint_id.into(),
            culture: culture.into(),
        }
    }

    fn check(&self) -> Result<(), Error> {
        let fields = [
            ("userAgent", &self.user_agent),
            ("endpointId", &self.endpoint_id),
            ("culture", &self.culture),
        ];
        for (name, value) in fields {
            let chars = value.chars().count();
            if chars == 0 || chars > MAX_APPLICATION_FIELD_CHARS {
                return Err(Error::InvalidInput(format!(
                    "{name} must have 1 to {MAX_APPLICATION_FIELD_CHARS} characters, not {chars}"
                )));
            }
            // Neither representation can carry them to the server as text.
            if value.chars().any(char::is_control) {
                return Err(Error::InvalidInput(format!(
                    "{name} must not contain control characters"
                )));
            }
        }
        Ok(())
    }
}

/// A UCWA application: the root of one client instance's resources and its event channel.
#[derive(Clone)]
pub struct Application {
    client: Client,
    url: Url,
    resource: Resource,
}

impl Application {
    /// Creates an application: a POST of `spec` to the `applications` URL, expecting 201.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when a field of `spec` is empty, longer than 100 characters or
    /// holds a control character (nothing is sent); the client's guard, service, transport and
    /// decode errors.
    pub async fn create(
        client: &Client,
        applications_url: &str,
        spec: ApplicationSpec,
    ) -> Result<Application, Error> {
        spec.check()?;
        let url = client.resolve_href(applications_url)?;
        let body = representation::input(
            client.format(),
            &[
                ("userAgent", &spec.user_agent),
                ("endpointId", &spec.endpoint_id),
                ("culture", &spec.culture),
            ],
        );

        let response = client
            .execute(Request {
                method: Method::POST,
                url: url.clone(),
                rel: "applications",
                operation_id: None,
                body: Some(body),
                expect: &[StatusCode::CREATED],
                timeout: None,
                retry: true,
            })
            .await?;

        let resource = response.resource()?;
        Application::from_resource(client, resource, &url)
    }

    /// Reads an application that already exists.
    ///
    /// # Errors
    ///
    /// The client's guard, service (404 `ApplicationNotFound` when it is gone), transport and
    /// decode errors.
    pub async fn from_url(client: &Client, url: &str) -> Result<Application, Error> {
        let url = client.resolve_href(url)?;
        let resource = client.get_resource(url.clone(), "application").await?;
        Application::from_resource(client, resource, &url)
    }

    fn from_resource(client: &Client, resource: Resource, fetched: &Url) -> Result<Self, Error> {
        let url = match resource.self_link() {
            Some(link) => client.resolve(link)?,
            None => fetched.clone(),
        };
        Ok(Application {
            client: client.clone(),
            url,
            resource,
        })
    }

    /// The application's URL (its `self` link).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The client the application uses.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The application resource as the server sent it.
    pub fn resource(&self) -> &Resource {
        &self.resource
    }

    /// The application's links (`self`, `events`, `batch`, `policies`, …).
    pub fn links(&self) -> &Links {
        self.resource.links()
    }

    /// The `events` link, where the event channel starts.
    pub fn events_link(&self) -> Option<&Link> {
        self.links().get("events")
    }

    /// An embedded resource by rel: `communication`, `me`, `people`, `onlineMeetings`, …
    pub fn embedded(&self, rel: &str) -> Option<&Resource> {
        self.resource.embedded(rel)
    }

    /// The embedded `communication` resource.
    pub fn communication(&self) -> Option<&Resource> {
        self.embedded("communication")
    }

    /// The embedded `me` resource.
    pub fn me(&self) -> Option<&Resource> {
        self.embedded("me")
    }
}

impl fmt::Debug for Application {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Application")
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_checked_in_characters() {
        assert!(
            ApplicationSpec::new("bot/1.0", "1", "en-US")
                .check()
                .is_ok()
        );
        assert!(
            ApplicationSpec::new("ü".repeat(100), "1", "en-US")
                .check()
                .is_ok()
        );
        for spec in [
            ApplicationSpec::new("x".repeat(101), "1", "en-US"),
            ApplicationSpec::new("bot", "", "en-US"),
            ApplicationSpec::new("bot", "1", "c".repeat(101)),
            ApplicationSpec::new("bot\u{1}1.0", "1", "en-US"),
        ] {
            assert_eq!(spec.check().unwrap_err().kind().as_str(), "invalid_input");
        }
    }
}
