#[test]
fn slow() {
    let bytes = std::fs::read("/tmp/slow.yaml").unwrap();
    let t = std::time::Instant::now();
    let text = std::str::from_utf8(&bytes).unwrap();
    let mut parser = yaml_rust2::parser::Parser::new_from_str(text);
    let mut n = 0;
    loop {
        match parser.next_token() {
            Ok((yaml_rust2::parser::Event::StreamEnd, _)) => break,
            Ok(_) => n += 1,
            Err(e) => { println!("err {e:?}"); break }
        }
    }
    println!("events {n} in {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let opts = tabby_load::LoadOptions { max_file_bytes: 1 << 20, max_nodes: 10_000, max_depth: 64 };
    let l = tabby_load::load_bytes("x.yaml", &bytes, &opts);
    println!("load {:?} {:?}", t.elapsed(), l.diagnostics);
}
