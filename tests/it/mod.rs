mod common;
mod discover;
mod labelled;
