from zhuizong.cli.main import main

main()
