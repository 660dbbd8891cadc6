# example programs
