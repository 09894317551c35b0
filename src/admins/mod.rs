//! Platform administrators. For now the command line (`orgportal admin …`); the
//! `/admin/administrators` page joins this folder.

pub mod cli;
