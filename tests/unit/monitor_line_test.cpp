// The monitor's line editor and command parser (kernel/console/monitor_line.hpp).
#include <gtest/gtest.h>
#include <string>

#include "kernel/console/monitor_line.hpp"

using monitor::Command;
using monitor::LineEditor;
using Event = LineEditor::Event;
using Kind = Command::Kind;

namespace {

Command parse(const char* s) { return monitor::parse(s); }

TEST(MonitorLine, EchoesEraseAndSubmit)
{
    LineEditor e;
    EXPECT_EQ(e.feed('l'), Event::kEcho);
    EXPECT_EQ(e.feed('x'), Event::kEcho);
    EXPECT_EQ(e.feed(0x7f), Event::kErase);
    EXPECT_EQ(e.feed('i'), Event::kEcho);
    EXPECT_EQ(e.feed('\b'), Event::kErase);
    EXPECT_EQ(e.feed('i'), Event::kEcho);
    EXPECT_EQ(e.feed(0x1b), Event::kNone) << "control characters are ignored";
    EXPECT_EQ(e.feed(0xc3), Event::kNone) << "so are bytes above ASCII";
    EXPECT_EQ(e.feed('s'), Event::kEcho);
    EXPECT_EQ(e.feed('t'), Event::kEcho);
    EXPECT_EQ(e.feed('\r'), Event::kSubmit);
    EXPECT_EQ(std::string(e.line()), "list");
    e.clear();
    EXPECT_EQ(e.feed(0x7f), Event::kNone) << "nothing to erase";
    EXPECT_EQ(e.length(), 0u);
}

TEST(MonitorLine, BoundedLine)
{
    LineEditor e;
    for (size_t i = 0; i < LineEditor::kMax; i++) {
        ASSERT_EQ(e.feed('a'), Event::kEcho);
    }
    EXPECT_EQ(e.feed('b'), Event::kFull);
    EXPECT_EQ(e.length(), LineEditor::kMax);
    EXPECT_EQ(e.feed(0x7f), Event::kErase);
    EXPECT_EQ(e.feed('b'), Event::kEcho);
    EXPECT_EQ(e.line()[LineEditor::kMax - 1], 'b');
    EXPECT_EQ(e.line()[LineEditor::kMax], '\0');
}

TEST(MonitorParse, Commands)
{
    EXPECT_EQ(parse("").kind, Kind::kEmpty);
    EXPECT_EQ(parse("   ").kind, Kind::kEmpty);
    EXPECT_EQ(parse("help").kind, Kind::kHelp);
    EXPECT_EQ(parse(" list ").kind, Kind::kList);
    EXPECT_EQ(parse("stat").kind, Kind::kStat);
    EXPECT_EQ(std::string(parse("stat").word), "");
    const Command s = parse("stat linux2");
    EXPECT_EQ(s.kind, Kind::kStat);
    EXPECT_EQ(std::string(s.word), "linux2");
    EXPECT_EQ(parse("stat -r").kind, Kind::kStatReset);
    EXPECT_EQ(parse("q").kind, Kind::kQuit);
    const Command r = parse("restart\tlinux");
    EXPECT_EQ(r.kind, Kind::kRestart);
    EXPECT_EQ(std::string(r.word), "linux");
    EXPECT_EQ(parse("stop 2").kind, Kind::kStop);
    EXPECT_EQ(std::string(parse("start linux").word), "linux");
}

TEST(MonitorParse, ViewsAndSwitch)
{
    EXPECT_EQ(parse("net").kind, Kind::kNet);
    EXPECT_EQ(parse("top").kind, Kind::kTop);
    const Command d = parse("dev alpha");
    EXPECT_EQ(d.kind, Kind::kDev);
    EXPECT_EQ(std::string(d.word), "alpha");
    const Command w = parse("switch 10");
    EXPECT_EQ(w.kind, Kind::kSwitch);
    EXPECT_EQ(std::string(w.word), "10");
    EXPECT_EQ(parse("dev").kind, Kind::kNeedsVm);
    EXPECT_EQ(parse("switch").kind, Kind::kNeedsVm);
    EXPECT_EQ(parse("net lan0").kind, Kind::kTooMany);
    EXPECT_EQ(parse("top 1").kind, Kind::kTooMany);
}

TEST(MonitorParse, Errors)
{
    const Command u = parse("reboot linux");
    EXPECT_EQ(u.kind, Kind::kUnknown);
    EXPECT_EQ(std::string(u.word), "reboot");
    const Command n = parse("stop");
    EXPECT_EQ(n.kind, Kind::kNeedsVm);
    EXPECT_EQ(std::string(n.word), "stop");
    EXPECT_EQ(parse("list all").kind, Kind::kTooMany);
    EXPECT_EQ(parse("stop a b").kind, Kind::kTooMany);
    EXPECT_EQ(parse("stat a b").kind, Kind::kTooMany);
    EXPECT_EQ(parse("lis").kind, Kind::kUnknown) << "no abbreviations";
    EXPECT_EQ(parse("listing").kind, Kind::kUnknown);
    std::string longest(200, 'x');
    const Command l = parse(("stop " + longest).c_str());
    EXPECT_EQ(l.kind, Kind::kStop);
    EXPECT_EQ(std::string(l.word).size(), Command::kWordMax) << "long words are cut, not overrun";
}

} // namespace
