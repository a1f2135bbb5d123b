// Console input switching: what each typed byte does.
#include <gtest/gtest.h>

#include "kernel/console/switch.hpp"

namespace {

using Action = ConsoleSwitch::Action;

TEST(ConsoleSwitch, PlainBytesPassThrough)
{
    ConsoleSwitch s;
    const Action a = s.feed('x');
    EXPECT_EQ(a.kind, Action::kDeliver);
    EXPECT_EQ(a.value, 'x');
    EXPECT_EQ(s.feed('2').kind, Action::kDeliver) << "a digit alone is just a digit";
}

TEST(ConsoleSwitch, EscapeThenDigitSwitchesToThatVm)
{
    ConsoleSwitch s;
    EXPECT_EQ(s.feed(0x1d).kind, Action::kNone) << "the escape itself is swallowed";
    const Action a = s.feed('3');
    EXPECT_EQ(a.kind, Action::kSwitch);
    EXPECT_EQ(a.value, 2) << "VM numbers count from 1";
    EXPECT_EQ(s.feed('3').kind, Action::kDeliver) << "back to normal afterwards";
}

TEST(ConsoleSwitch, EscapeTwiceSendsOneEscape)
{
    ConsoleSwitch s;
    s.feed(0x1d);
    const Action a = s.feed(0x1d);
    EXPECT_EQ(a.kind, Action::kDeliver);
    EXPECT_EQ(a.value, 0x1d);
    EXPECT_EQ(s.feed('1').kind, Action::kDeliver);
}

TEST(ConsoleSwitch, EscapeThenAnythingElseAsksForHelpAndSwallowsIt)
{
    ConsoleSwitch s;
    s.feed(0x1d);
    EXPECT_EQ(s.feed('0').kind, Action::kHelp) << "there is no VM 0";
    s.feed(0x1d);
    EXPECT_EQ(s.feed('q').kind, Action::kHelp);
    EXPECT_EQ(s.feed('q').kind, Action::kDeliver);
}

TEST(ConsoleSwitch, EscapeThenMEntersTheMonitor)
{
    ConsoleSwitch s;
    EXPECT_EQ(s.feed('m').kind, Action::kDeliver) << "an m alone is just an m";
    s.feed(0x1d);
    EXPECT_EQ(s.feed('m').kind, Action::kMonitor);
    EXPECT_EQ(s.feed('m').kind, Action::kDeliver) << "back to normal afterwards";
}

} // namespace

namespace {

TEST(ConsoleSwitch, FromTenVmsOnTheNumberTakesTwoDigits)
{
    ConsoleSwitch s;
    s.set_vm_count(16);
    s.feed(0x1d);
    EXPECT_EQ(s.feed('1').kind, Action::kNone) << "VM 1 or VM 1x: wait for the second digit";
    Action a = s.feed('6');
    EXPECT_EQ(a.kind, Action::kSwitch);
    EXPECT_EQ(a.value, 15) << "Ctrl-] 1 6 is VM 16";
    s.feed(0x1d);
    s.feed('0');
    a = s.feed('3');
    EXPECT_EQ(a.kind, Action::kSwitch);
    EXPECT_EQ(a.value, 2) << "Ctrl-] 0 3 is VM 3";
    EXPECT_EQ(s.feed('3').kind, Action::kDeliver) << "back to normal afterwards";
}

TEST(ConsoleSwitch, TwoDigitsOfZeroOrADigitAndSomethingElseAskForHelp)
{
    ConsoleSwitch s;
    s.set_vm_count(10);
    s.feed(0x1d);
    s.feed('0');
    EXPECT_EQ(s.feed('0').kind, Action::kHelp) << "there is no VM 0";
    s.feed(0x1d);
    s.feed('1');
    EXPECT_EQ(s.feed('x').kind, Action::kHelp) << "the x is swallowed";
    EXPECT_EQ(s.feed('x').kind, Action::kDeliver);
    s.feed(0x1d);
    EXPECT_EQ(s.feed('m').kind, Action::kMonitor) << "m needs no digits";
}

TEST(ConsoleSwitch, UpToNineVmsOneDigitSwitchesAtOnce)
{
    ConsoleSwitch s;
    s.set_vm_count(9);
    s.feed(0x1d);
    const Action a = s.feed('9');
    EXPECT_EQ(a.kind, Action::kSwitch);
    EXPECT_EQ(a.value, 8);
    EXPECT_EQ(s.feed('1').kind, Action::kDeliver) << "a following digit is the VM's";
}

} // namespace
