fn main() {
    let path = std::env::args().nth(1).unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    let p = kumoc_lang::parse(&text);
    println!("{:#?}", p.file.items);
    for e in p.errors {
        println!("{} {} {:?} {:?}", e.code.code(), e.message, e.span, e.help);
    }
}
