//! `kokuin serve`: HTTP and HTTPS listeners on tokio + hyper 1, HTTP/1.1 keep-alive and
//! HTTP/2, bounded connections and concurrency, head and body timeouts, and a graceful
//! shutdown on SIGTERM or Ctrl-C that lets in-flight requests finish.

mod body_stream;
mod deadline;
mod eseal;
mod listen;
mod ops;
mod policies;
pub mod proxy_protocol;
mod query;
mod reply;
mod routes;
mod server;
mod site;
mod state;
mod tls;
mod tsa;
pub mod verify;
mod verify_pdf;
mod verify_ui;

pub use listen::{Listeners, bind};
pub use server::{InProcess, run, run_bound, run_with};
pub use tls::check as check_tls;
pub use verify_ui::serve_ui;
