use clap::Parser;

fn main() {
    let cli = match rdiff::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => flag_error(e),
    };
    let code = match rdiff::run::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rdiff: {}", one_line(&e.to_string()));
            2
        }
    };
    std::process::exit(code);
}

/// An error as one line of text: control characters (a newline, a terminal escape that
/// a registry's answer or a file name carried in) are shown escaped, never obeyed.
fn one_line(msg: &str) -> String {
    msg.chars()
        .map(|c| match c {
            c if c.is_control() => c.escape_default().to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// Print clap's message (help, version, or a flag error) and exit: 0 for help and
/// version, 2 for an error. An error is kept in clap's format, but its first line alone
/// says what is wrong: a first line ending in `:` takes the indented lines under it
/// (`error: the following required arguments were not provided: <RIGHT>`).
fn flag_error(e: clap::Error) -> ! {
    if !e.use_stderr() {
        e.exit();
    }
    use std::io::IsTerminal;
    let styled = e.render();
    let text = match std::io::stderr().is_terminal() {
        true => styled.ansi().to_string(),
        false => styled.to_string(),
    };
    eprint!("{}", first_line_whole(&text));
    std::process::exit(2);
}

fn first_line_whole(text: &str) -> String {
    let mut lines = text.lines();
    let Some(first) = lines.next() else {
        return text.to_string();
    };
    if !first.trim_end().ends_with(':') {
        return text.to_string();
    }
    let rest: Vec<&str> = lines.clone().collect();
    let taken = rest
        .iter()
        .take_while(|l| l.starts_with("  ") && !l.trim().is_empty())
        .count();
    let items: Vec<&str> = rest[..taken].iter().map(|l| l.trim()).collect();
    let mut out = format!("{} {}\n", first.trim_end(), items.join(", "));
    for l in &rest[taken..] {
        out.push_str(l);
        out.push('\n');
    }
    out
}
