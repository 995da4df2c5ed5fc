fn main() {
    let path = std::env::args().nth(1).unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    match kumoc_lang::format::format(&text) {
        Ok(s) => {
            print!("{s}");
            let again = kumoc_lang::format::format(&s).unwrap();
            assert_eq!(again, s, "not idempotent");
        }
        Err(e) => println!("{e:?}"),
    }
}
