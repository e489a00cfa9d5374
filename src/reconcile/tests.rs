//! Planner tests: lifecycle cases as examples, and property tests over random HR histories
//! against an in-memory model of an app.

mod candidates;
mod forms;
mod guards;
mod model;
mod order;
mod props;
mod props_resync;
mod props_settled;
mod relink;
mod unit;
