#!/bin/sh
# Stands in for kvq-fuzz in fuzz-progress.test: reports inputs the way
# libFuzzer does ("#N ..." lines, final stats) over about 3.5 s.
echo "#10 pulse" >&2
sleep 2.5
echo "#20 pulse" >&2
sleep 1
echo "stat::number_of_executed_units: 25" >&2
