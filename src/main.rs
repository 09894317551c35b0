fn main() -> std::process::ExitCode {
    orgportal::cli::main()
}
