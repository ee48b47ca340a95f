//! `tf.train.Example` protobufs (TensorFlow's `example.proto` and
//! `feature.proto`), written as `prost` structs: no `protoc` or build script.
//!
//! The feature map is a `BTreeMap`, so keys are serialized in sorted order and
//! a file is reproducible byte for byte. Repeated numbers are packed, as
//! TensorFlow declares them (`[packed = true]`).
//!
//! ```
//! use rlkit::data::example::{Example, Value};
//! let mut ex = Example::default();
//! ex.insert("reward", Value::Float(vec![-1.0]));
//! ex.insert("agent", Value::Bytes(vec![b"sarsa".to_vec()]));
//! let bytes = ex.encode_to_vec();
//! let back = Example::decode(&bytes).unwrap();
//! assert_eq!(back, ex);
//! assert_eq!(back.keys(), vec!["agent", "reward"]);
//! ```

use std::collections::BTreeMap;

use prost::Message;

/// `tf.train.BytesList`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BytesList {
    /// The values.
    #[prost(bytes = "vec", repeated, tag = "1")]
    pub value: Vec<Vec<u8>>,
}

/// `tf.train.FloatList` (packed).
#[derive(Clone, PartialEq, prost::Message)]
pub struct FloatList {
    /// The values.
    #[prost(float, repeated, packed = "true", tag = "1")]
    pub value: Vec<f32>,
}

/// `tf.train.Int64List` (packed).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Int64List {
    /// The values.
    #[prost(int64, repeated, packed = "true", tag = "1")]
    pub value: Vec<i64>,
}

/// `tf.train.Feature`: one of the three lists.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Feature {
    /// The list.
    #[prost(oneof = "Kind", tags = "1, 2, 3")]
    pub kind: Option<Kind>,
}

/// The `kind` oneof of [`Feature`].
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Kind {
    /// `bytes_list`.
    #[prost(message, tag = "1")]
    BytesList(BytesList),
    /// `float_list`.
    #[prost(message, tag = "2")]
    FloatList(FloatList),
    /// `int64_list`.
    #[prost(message, tag = "3")]
    Int64List(Int64List),
}

/// `tf.train.Features`: the map from key to feature, sorted by key.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Features {
    /// The features.
    #[prost(btree_map = "string, message", tag = "1")]
    pub feature: BTreeMap<String, Feature>,
}

/// `tf.train.Example`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Example {
    /// The features.
    #[prost(message, optional, tag = "1")]
    pub features: Option<Features>,
}

/// A feature's values, for building and reading examples.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `bytes_list`.
    Bytes(Vec<Vec<u8>>),
    /// `float_list`.
    Float(Vec<f32>),
    /// `int64_list`.
    Int(Vec<i64>),
}

impl Value {
    /// `bytes`, `float` or `int64` (the names `rlkit inspect` prints).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Bytes(_) => "bytes",
            Value::Float(_) => "float",
            Value::Int(_) => "int64",
        }
    }
}

impl From<Value> for Feature {
    fn from(v: Value) -> Feature {
        Feature {
            kind: Some(match v {
                Value::Bytes(value) => Kind::BytesList(BytesList { value }),
                Value::Float(value) => Kind::FloatList(FloatList { value }),
                Value::Int(value) => Kind::Int64List(Int64List { value }),
            }),
        }
    }
}

impl Feature {
    /// The values (`None` for a feature with no list set).
    pub fn value(&self) -> Option<Value> {
        self.kind.as_ref().map(|k| match k {
            Kind::BytesList(l) => Value::Bytes(l.value.clone()),
            Kind::FloatList(l) => Value::Float(l.value.clone()),
            Kind::Int64List(l) => Value::Int(l.value.clone()),
        })
    }

    /// `bytes`, `float`, `int64`, or `none`.
    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            Some(Kind::BytesList(_)) => "bytes",
            Some(Kind::FloatList(_)) => "float",
            Some(Kind::Int64List(_)) => "int64",
            None => "none",
        }
    }
}

impl Example {
    /// Set feature `key`.
    pub fn insert(&mut self, key: &str, v: Value) {
        self.features.get_or_insert_with(Features::default).feature.insert(key.to_string(), v.into());
    }

    /// Feature `key`'s values.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.features.as_ref()?.feature.get(key)?.value()
    }

    /// The keys, sorted.
    pub fn keys(&self) -> Vec<&str> {
        self.features.as_ref().map(|f| f.feature.keys().map(String::as_str).collect()).unwrap_or_default()
    }

    /// Serialize (keys in sorted order).
    pub fn encode_to_vec(&self) -> Vec<u8> {
        Message::encode_to_vec(self)
    }

    /// Parse a serialized example.
    pub fn decode(bytes: &[u8]) -> std::result::Result<Example, prost::DecodeError> {
        <Example as Message>::decode(bytes)
    }
}
