//! The SQL catalog (`queries/sql/*.sql`) and the engines that run it
//! (DataFusion locally, Athena on AWS). Empty until the query stage lands;
//! the lake it will read is described in docs/lake.md.
