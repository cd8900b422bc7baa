//! `S<T>`: a value of the file and the bytes it was read from. A newtype over
//! `serde_spanned::Spanned` (deserialized by it, so toml still fills in the span) so that the
//! JSON Schema of a spanned value can be the value's own.

use std::borrow::Cow;
use std::ops::Range;

/// A value and its span in the file.
#[derive(Clone)]
pub struct S<T>(serde_spanned::Spanned<T>);

impl<T> S<T> {
    pub fn new(span: Range<usize>, value: T) -> Self {
        S(serde_spanned::Spanned::new(span, value))
    }
    pub fn span(&self) -> Range<usize> {
        self.0.span()
    }
    pub fn get_ref(&self) -> &T {
        self.0.get_ref()
    }
    pub fn get_mut(&mut self) -> &mut T {
        self.0.get_mut()
    }
    pub fn into_inner(self) -> T {
        self.0.into_inner()
    }
}

impl<T> From<serde_spanned::Spanned<T>> for S<T> {
    fn from(s: serde_spanned::Spanned<T>) -> Self {
        S(s)
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for S<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<T: PartialEq> PartialEq for S<T> {
    fn eq(&self, o: &Self) -> bool {
        self.get_ref() == o.get_ref()
    }
}
impl<T: Eq> Eq for S<T> {}
impl<T: PartialOrd> PartialOrd for S<T> {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        self.get_ref().partial_cmp(o.get_ref())
    }
}
impl<T: Ord> Ord for S<T> {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.get_ref().cmp(o.get_ref())
    }
}
impl<T: std::hash::Hash> std::hash::Hash for S<T> {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.get_ref().hash(h)
    }
}
impl std::borrow::Borrow<str> for S<String> {
    fn borrow(&self) -> &str {
        self.get_ref()
    }
}

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for S<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde_spanned::Spanned::<T>::deserialize(d).map(S)
    }
}

/// The schema of a spanned value is the value's: the span is netlab's, not the format's.
impl<T: schemars::JsonSchema> schemars::JsonSchema for S<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(g)
    }
}
