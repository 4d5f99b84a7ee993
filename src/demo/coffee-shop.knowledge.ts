/**
 * The demo business's knowledge base: Bean There Coffee, one document per topic a customer asks
 * about on WhatsApp. Each document opens with a summary paragraph (the short answer) followed by
 * the details. The summaries are also the FAQ on which the offline provider's embeddings and
 * thresholds were tuned (test/integration/offline-retrieval.test.ts reads them from here), so
 * change a summary only together with that test's expectations.
 */
export interface DemoDocument {
  /** Stable name of the topic (the FAQ questions in test/fixtures name it as expected_id). */
  slug: string;
  title: string;
  summary: string;
  /** Markdown. */
  details: string;
}

export const DEMO_DOCUMENTS: readonly DemoDocument[] = [
  {
    slug: 'hours',
    title: 'Opening hours',
    summary:
      'Bean There Coffee is open Monday to Friday from 7:00 to 19:00, and Saturday and Sunday from 8:00 to 17:00. On public holidays we open from 9:00 to 15:00. We close at 14:00 on December 24 and December 31, and we are closed on December 25 and January 1. The kitchen stops taking food orders 30 minutes before closing time.',
    details: `- Monday to Friday: 7:00 to 19:00 (Fridays until 21:00 when musicians play)
- Saturday and Sunday: 8:00 to 17:00
- Public holidays: 9:00 to 15:00

Breakfast is served until 11:30 every day, and lunch dishes from 11:30 until the kitchen closes. The takeaway window on Mill Lane opens and closes with the café, and app orders placed before opening are ready from the first minute. Any change to our hours, for example for a private event, is announced in the app and on Instagram a week in advance.`,
  },
  {
    slug: 'location',
    title: 'Location and parking',
    summary:
      'You will find us at 42 Harbour Street, on the corner with Mill Lane, two minutes on foot from Central Station. There is no private car park, but the Mill Lane municipal garage is across the road and the first hour is free with a stamped receipt from our till. Bicycle racks are right outside the front door, and buses 12 and 31 stop in front of the shop.',
    details: `The entrance is on Harbour Street, next to the blue door of the bookshop; the takeaway window faces Mill Lane. From Central Station, take the Harbour Street exit, turn left and walk straight on for about 150 metres. The nearest tram stop is Harbour Square, five minutes away.

Our postal address for letters and deliveries is Bean There Coffee, 42 Harbour Street, EH6 7BQ. The roastery in Leith is not open to the public, except for the tours announced in the app.`,
  },
  {
    slug: 'wifi',
    title: 'Wi-Fi and working from the café',
    summary:
      'Free Wi-Fi is available to all customers. The network is called BeanThere-Guest and the password is printed at the bottom of your receipt; it changes every Monday. Laptops are welcome at the long communal table, which has power sockets. On weekends between 10:00 and 14:00 we ask guests to limit laptop use to 90 minutes so that everyone can find a seat.',
    details: `To connect, choose BeanThere-Guest, open any web page and enter the password from your receipt on the welcome page. The connection is fast enough for video calls, but please use headphones and keep calls short so that your neighbours are not disturbed.

If you cannot connect, ask the barista for a fresh receipt. When the upstairs room is hired for a meeting, it has a network of its own.`,
  },
  {
    slug: 'menu-dietary',
    title: 'Vegan, vegetarian and gluten-free options',
    summary:
      'Every drink can be made with oat, soy, almond or coconut milk at no extra charge. Our food menu always includes at least two vegan dishes, such as the chickpea wrap and the banana bread. Gluten-free brownies and a gluten-free sandwich bread are available every day. They are baked in a separate area, but the kitchen handles wheat flour, so we cannot guarantee they are suitable for people with coeliac disease.',
    details: `Vegan dishes on the current menu: the chickpea wrap with roasted peppers and hummus, the banana bread, overnight oats with berries, and the lentil soup of the day. Vegetarian choices include the cheese and tomato toastie, the spinach and feta roll and all our cakes.

Gluten-free items are marked GF on the board and in the app. If you have coeliac disease, please speak to the barista before ordering, because traces of gluten cannot be ruled out. Our syrups are vegan, and the hot chocolate is vegan when it is made with a plant-based milk.`,
  },
  {
    slug: 'prices',
    title: 'Prices',
    summary:
      'An espresso costs 2.20 EUR, a cappuccino or flat white 3.40 EUR, a latte 3.80 EUR and a pot of loose-leaf tea 3.00 EUR. Pastries cost between 2.50 and 4.00 EUR and sandwiches between 6.50 and 8.90 EUR. An extra espresso shot or flavoured syrup adds 0.50 EUR. All prices include VAT, and there is no service charge.',
    details: `The full menu:

- Espresso 2.20 EUR, double espresso 2.80 EUR, americano 2.80 EUR
- Cappuccino or flat white 3.40 EUR, latte 3.80 EUR, mocha 4.00 EUR
- Hot chocolate 3.50 EUR, chai latte 3.80 EUR, pot of loose-leaf tea 3.00 EUR
- Iced latte or cold brew 4.20 EUR
- Croissant 2.50 EUR, cinnamon bun 3.20 EUR, slice of cake 4.00 EUR
- Toasties and sandwiches 6.50 to 8.90 EUR, soup of the day with bread 5.90 EUR

Takeaway costs the same as eating in. Tips are welcome but never expected, and they go to the whole team.`,
  },
  {
    slug: 'loyalty',
    title: 'Loyalty card',
    summary:
      'Ask for a free Bean There stamp card at the counter or add it to the Bean There app. You collect one stamp for every hot drink, and after nine stamps your tenth drink is on us. Stamps do not expire, but only one stamp is given per drink and cards cannot be combined. Lost paper cards cannot be replaced, so we recommend the app version.',
    details: `In the app, show your QR code at the till when you pay and the stamp is added automatically. Free drinks can be redeemed in the café and on app orders for pickup, but not on delivery orders.

On your birthday the app gives you a free pastry of your choice, valid for seven days. To move the stamps of a paper card into the app, hand the card in at the counter and we add them to your account.`,
  },
  {
    slug: 'gift-cards',
    title: 'Gift cards',
    summary:
      'Gift cards can be bought in the shop or on our website for any amount between 10 and 150 EUR. E-gift cards are emailed within minutes and can be scheduled for a specific date. Gift cards are valid for two years from the date of purchase, can be spent in several visits, and cannot be exchanged for cash.',
    details: `To check the balance, scan the code on the back of the card in the app or ask at the till. Gift cards pay for drinks, food, coffee beans and workshops, in the shop and in the app, but not for orders on Uber Eats or Glovo.

A lost gift card can be blocked and replaced if you still have the receipt or the order email. Companies buying ten or more gift cards get 10% off: write to hello@beanthere.example.`,
  },
  {
    slug: 'delivery',
    title: 'Delivery and takeaway',
    summary:
      'We deliver through Uber Eats and Glovo within about 3 km of the shop from 8:00 to 18:00 every day. You can also order ahead in the Bean There app and pick your order up at the takeaway window without queuing. Bring your own reusable cup and we take 0.30 EUR off any drink.',
    details: `Delivery fees and times are set by Uber Eats and Glovo and shown in their apps before you order; most orders arrive within 20 to 35 minutes. Hot drinks travel in sealed cups and cakes in recyclable boxes.

Pickup orders can be scheduled up to seven days ahead, and the app tells you when your order is ready. The reusable cup discount applies to pickup orders too: bring your own cup or mug to the takeaway window. All our takeaway cups, lids and cutlery are compostable.`,
  },
  {
    slug: 'catering',
    title: 'Catering for offices and events',
    summary:
      'We cater meetings, office breakfasts and parties for 10 to 150 people, with coffee flasks, pastry platters, sandwich boxes and a barista cart for larger events. Catering orders need at least 48 hours notice and a 30% deposit. Delivery of catering orders is free within the city centre for orders above 150 EUR. Write to catering@beanthere.example for a quote.',
    details: `An office breakfast for 20 people (coffee and tea flasks, a pastry platter, a fruit platter, cups and napkins) costs about 9 EUR per person; sandwich boxes for lunch start at 11 EUR per person.

For more than 50 people, please order a week in advance. The barista cart comes with one or two baristas who make espresso drinks to order for up to three hours. Cancellations more than 24 hours before the event are refunded in full; later ones keep the deposit.`,
  },
  {
    slug: 'reservations',
    title: 'Table reservations',
    summary:
      'Seats are first come, first served on weekdays, so no booking is needed. For groups of six or more on Saturday or Sunday you can reserve a table through the app or by phone at least one day ahead. Reserved tables are held for 15 minutes after the booked time. The upstairs room can be hired for private gatherings of up to 25 guests.',
    details: `To book, open Reservations in the app and choose the day, time and number of guests; a confirmation arrives by email, and you can change or cancel the booking in the app until two hours before it starts.

The upstairs room has a large table, sofas, a screen and a whiteboard. It costs 30 EUR per hour, or nothing when you spend at least 200 EUR on food and drinks. Please book it at least a week ahead.`,
  },
  {
    slug: 'pets',
    title: 'Dogs and pets',
    summary:
      'Dogs are welcome on the terrace and in the front room of the café as long as they are on a lead. We keep a water bowl by the door and have free dog biscuits at the counter. For hygiene reasons animals are not allowed in the upstairs room. Assistance dogs are welcome everywhere.',
    details: `Well-behaved dogs of every size are welcome, but please keep them off the seats and benches. On busy weekend mornings we may ask you to sit on the terrace with a large dog so that the front room stays passable.

The terrace is covered and heated in winter. Cats and other small pets are welcome on the terrace in a carrier.`,
  },
  {
    slug: 'allergens',
    title: 'Allergen information',
    summary:
      'A complete allergen list for every drink and dish is kept at the till and can be seen in the app. Our kitchen uses nuts, sesame, eggs, milk, soy and wheat, so traces may be present in any product. Please tell the barista about any allergy before ordering and we will check the ingredients with you and use clean equipment.',
    details: `The fourteen major allergens are listed for every item, and the list is updated whenever a recipe changes. Our plant-based milks come from a supplier that also processes nuts. Cakes from our partner bakery carry their own allergen labels.

If you have a severe allergy, ask for the shift lead, who can tell you exactly how a product is prepared. When we are not sure that a product is safe for you, we will say so.`,
  },
  {
    slug: 'refunds',
    title: 'Refunds and complaints',
    summary:
      'If your drink or food is not right, tell us straight away and we will make it again for free. Refunds for orders placed in the app are issued to the original payment method within 5 working days. For delivery orders placed on Uber Eats or Glovo, please request the refund through that platform. Complaints can also be sent to hello@beanthere.example and we reply within two working days.',
    details: `Unused gift cards and coffee subscriptions can be refunded within 14 days of purchase. Workshop tickets are refunded in full up to 48 hours before the workshop; after that you can move your place to another date once.

When you write to us, please include the order number from your receipt or the app, the date of your visit and what went wrong. Every complaint is read by the shop manager.`,
  },
  {
    slug: 'jobs',
    title: 'Jobs and careers',
    summary:
      'We are often hiring baristas, bakers and shift leads, both full-time and part-time. Open positions are listed on beanthere.example/careers. To apply, send your CV and a few lines about yourself to jobs@beanthere.example. No previous experience is required for barista positions, because we provide paid training. Staff get free drinks during shifts and a 50% discount on food.',
    details: `The training lasts two weeks and covers espresso, milk texturing, filter brewing, hygiene and customer service. Shifts are planned three weeks in advance and last six to eight hours; part-time staff can choose weekend shifts only.

Pay is above the living wage, and tips are shared equally by the whole team. We interview every week, and every applicant hears back within ten days.`,
  },
  {
    slug: 'events',
    title: 'Events, tastings and workshops',
    summary:
      'On the first Thursday of every month we host a cupping session where you taste coffees from different origins, at 18:30, for 12 EUR per person. Latte art workshops take place on Saturday mornings and cost 35 EUR, including all drinks. Places are limited to eight people and can be booked in the app. Local musicians play acoustic sets on Friday evenings.',
    details: `Cupping sessions last about 90 minutes and are led by our head roaster. Latte art workshops start at 9:00 and last two hours: you learn to texture milk and to pour a heart, a tulip and a rosetta.

The acoustic sets start at 19:00 and are free, and the café stays open until 21:00 on those Fridays. Private workshops for teams and birthdays can be arranged for up to 12 people.`,
  },
  {
    slug: 'beans',
    title: 'Coffee beans and subscriptions',
    summary:
      'All our coffee is roasted in small batches at our roastery in Leith. Bags of 250 g and 1 kg of whole beans are on sale in the shop and online, and we grind them for espresso, filter, French press or moka pot on request. A coffee subscription delivers a fresh bag every two or four weeks, with free shipping, and can be paused or cancelled at any time from your account.',
    details: `Our house blend, Harbour, is a chocolatey espresso of Brazilian and Colombian beans. There are always two seasonal single origins and a decaf as well. A 250 g bag costs 9.50 EUR and a 1 kg bag 32 EUR.

Beans are roasted every Tuesday and Friday, and the roast date is printed on each bag; they taste best one to four weeks after roasting.`,
  },
  {
    slug: 'kids',
    title: 'Children and families',
    summary:
      'Families are very welcome. We have high chairs, a changing table in the accessible toilet, and a small corner with books and crayons. The kids menu includes babyccinos, hot chocolate, fruit cups and mini toasties. Prams and buggies fit through the main entrance and can be parked next to the window tables.',
    details: `A babyccino is warm frothed milk with a sprinkle of cocoa, and it is free for children under four with an adult's drink. Children's portions of most toasties and soups cost half the price.

On Sunday mornings from 10:00 to 11:00 a storyteller reads in the kids corner, free of charge. We are happy to warm up baby bottles and food jars.`,
  },
  {
    slug: 'accessibility',
    title: 'Accessibility',
    summary:
      'The ground floor has step-free access through the main entrance, an automatic door and a fully accessible toilet. The upstairs room can only be reached by stairs. Our menus are available in large print and the counter has a lowered section for wheelchair users. Please let us know if you need any help when you visit.',
    details: `Staff can bring your order to your table if carrying a tray is difficult; just ask at the counter. Every Tuesday from 14:00 to 15:00 we have a quiet hour with the music off and the lights dimmed.

The app works with screen readers. The nearest disabled parking spaces are on Mill Lane, 20 metres from the entrance.`,
  },
  {
    slug: 'payment',
    title: 'Payment methods',
    summary:
      'We accept Visa, Mastercard, American Express, Apple Pay, Google Pay and cash. Cards are accepted for any amount, with no minimum spend. We do not accept cheques. Company invoices for catering can be paid by bank transfer within 30 days.',
    details: `In the app you can pay by card, Apple Pay, Google Pay or with a Bean There gift card. Contactless payments work up to the limit set by your bank.

For catering orders we send an invoice with VAT shown separately.`,
  },
  {
    slug: 'contact',
    title: 'Contact us',
    summary:
      'You can reach the shop by phone at +44 131 555 0142 during opening hours, or by email at hello@beanthere.example. You can also message us on WhatsApp and a member of the team will answer as soon as possible. Follow @beantherecoffee on Instagram for news, seasonal drinks and special offers.',
    details: `On WhatsApp our assistant answers straight away; if you would rather talk to a person, just say so and a member of the team takes over the chat.

The phone line is answered during opening hours; outside them, leave a message and we call you back. For catering quotes write to catering@beanthere.example, and for jobs to jobs@beanthere.example.`,
  },
];

/** A document's content as stored in the knowledge base: the summary, then the details. */
export function demoDocumentContent(d: DemoDocument): string {
  return `${d.summary}\n\n${d.details}\n`;
}
