//! Why a PDF cannot be sealed, one variant per reason a caller is told.

/// Why a PDF cannot be sealed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PadesError {
    /// Not a PDF lopdf can read.
    #[error("not a PDF that can be read: {0}")]
    Parse(String),
    /// Encrypted: a signature would have to be added under its encryption.
    #[error("the PDF is encrypted; decrypt it before sealing")]
    Encrypted,
    /// A signature's lock forbids any change (DocMDP or FieldMDP P=1): named.
    #[error("{0}: a seal would break it")]
    Locked(String),
    /// Certification asked for a PDF that is signed already.
    #[error("the PDF is signed already; a certification signature must be the first")]
    AlreadySigned,
    /// Its cross-reference table is broken (recovered by scanning): an update cannot chain to
    /// it.
    #[error(
        "the PDF is damaged (its cross-reference table cannot be read); repair it, e.g. with qpdf, before sealing"
    )]
    Damaged,
    /// No page to put the signature's widget on.
    #[error("the PDF has no page")]
    NoPage,
    /// The visible seal's page is not in the document.
    #[error("the PDF has {pages} page(s); the seal was asked for on page {page}")]
    NoSuchPage {
        /// The page asked for, from 1.
        page: usize,
        /// How many the PDF has.
        pages: usize,
    },
    /// The visible stamp cannot be made (its font, its text).
    #[error("{0}")]
    Stamp(String),
    /// The document's structure is not what ISO 32000-1 says (a name where a dictionary must
    /// be, …).
    #[error("the PDF's {0} is not what ISO 32000-1 says it is")]
    Structure(&'static str),
    /// The CMS does not fit the room reserved for it.
    #[error("the signature is {got} octets; {room} were reserved")]
    TooLarge {
        /// The CMS's length.
        got: usize,
        /// The room.
        room: usize,
    },
    /// Writing the update failed.
    #[error("writing the incremental update: {0}")]
    Write(String),
}
