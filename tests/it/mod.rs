mod calibration;
mod common;
mod discover;
mod faults;
mod labelled;
mod social;
