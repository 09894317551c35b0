//! The middleware that counts every request by route pattern and status. Per request it costs
//! a clock read, the route's pattern (one string, the label lookup) and two map lookups under
//! a read lock; it boxes nothing.

use std::borrow::Cow;
use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::Method;

use super::metrics::{Metrics, RequestLabels, UNMATCHED};

/// Wrap the app with `RecordRequests(metrics)` outermost, so the time includes every layer.
pub struct RecordRequests(pub Arc<Metrics>);

impl<S, B> Transform<S, ServiceRequest> for RecordRequests
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = RecordRequestsService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RecordRequestsService { service, metrics: self.0.clone() }))
    }
}

pub struct RecordRequestsService<S> {
    service: S,
    metrics: Arc<Metrics>,
}

impl<S, B> Service<ServiceRequest> for RecordRequestsService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = Recorded<S::Future>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let method = method_label(req.method());
        Recorded { inner: self.service.call(req), metrics: self.metrics.clone(), method, started: Instant::now() }
    }
}

pin_project_lite::pin_project! {
    /// The inner service's future, timed.
    pub struct Recorded<F> {
        #[pin]
        inner: F,
        metrics: Arc<Metrics>,
        method: &'static str,
        started: Instant,
    }
}

impl<F, B> Future for Recorded<F>
where
    F: Future<Output = Result<ServiceResponse<B>, actix_web::Error>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let outcome = std::task::ready!(this.inner.poll(cx));
        let seconds = this.started.elapsed().as_secs_f64();
        let (route, status) = match &outcome {
            Ok(response) => (response.request().match_pattern(), response.status().as_u16()),
            // Errors normally become responses inside the app; one that escapes has no route.
            Err(error) => (None, error.as_response_error().status_code().as_u16()),
        };
        let route = route.map_or(Cow::Borrowed(UNMATCHED), Cow::Owned);
        this.metrics.observe_request(&RequestLabels { method: this.method, route, status }, seconds);
        Poll::Ready(outcome)
    }
}

/// The standard methods by name; anything else is one label, so a client cannot invent series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invented_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
        assert_eq!(method_label(&Method::from_bytes(b"PROPFIND").unwrap()), "other");
    }
}
