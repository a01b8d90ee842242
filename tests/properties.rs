//! Property tests (proptest): placeholder, written by the property-test helper.
