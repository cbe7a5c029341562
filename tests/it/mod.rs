mod common;
mod discover;
mod faults;
mod help;
mod labelled;
mod social;
