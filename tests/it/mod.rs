mod cache;
mod common;
mod discover;
mod labelled;
mod redis_server;
mod resume;
