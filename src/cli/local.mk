# procq(1), the command-line front end
