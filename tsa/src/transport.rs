//! RFC 3161 §3.4, "Time-Stamp Protocol via HTTP": the media types of a query and its reply,
//! shared by the server and every client so the two cannot drift apart.

/// RFC 3161 §3.4: the Content-Type of a DER-encoded `TimeStampReq`.
pub const QUERY_TYPE: &str = "application/timestamp-query";

/// RFC 3161 §3.4: the Content-Type of a DER-encoded `TimeStampResp`.
pub const REPLY_TYPE: &str = "application/timestamp-reply";
